// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IAggregator} from "./IAggregator.sol";
import {AggregationLib} from "./AggregationLib.sol";

/// @title Trimmed mean: drops the k lowest and the k highest answers, averages the rest.
/// @notice The mean is rounded toward zero and computed without overflow for any int256 answers.
///         Reverts `TooFewAnswers` when n <= 2k (nothing would be left).
///         Accepted: the n - 2k kept answers. Ties at a cut are resolved by oracle index, as if the
///         answers were sorted by (value, index): among answers equal to the lowest kept value the
///         lowest indices are the ones dropped, among answers equal to the highest kept value the
///         highest indices are the ones dropped. The aggregate does not depend on the tie rule,
///         only the mask does.
/// @dev Tolerates up to k arbitrary answers: the result stays within the range of honest answers.
contract TrimmedMeanAggregator is IAggregator {
    /// @notice Answers dropped at each end.
    uint256 public immutable k;

    /// @notice `k` is too large to leave a kept answer for any input (2k >= 256).
    error InvalidTrim(uint256 k);
    /// @notice n <= 2k: nothing would be left after trimming.
    error TooFewAnswers(uint256 count, uint256 k);

    /// @param k_ Answers to drop at each end (0 makes it a plain mean).
    constructor(uint256 k_) {
        if (k_ >= AggregationLib.MAX_ANSWERS / 2) revert InvalidTrim(k_);
        k = k_;
    }

    /// @inheritdoc IAggregator
    function aggregate(int256[] calldata answers) external view returns (int256 answer, uint256 acceptedMask) {
        uint256 n = answers.length;
        AggregationLib.checkCount(n);
        uint256 trim = k;
        if (n <= 2 * trim) revert TooFewAnswers(n, trim);
        int256[] memory s = AggregationLib.sortedCopy(answers);
        unchecked {
            uint256 first = trim; // first kept position
            uint256 last = n - trim - 1; // last kept position
            // casting is safe: n <= 256
            // forge-lint: disable-next-line(unsafe-typecast)
            int256 m = int256(n - 2 * trim);
            int256 q;
            int256 r;
            for (uint256 p = first; p <= last; ++p) {
                (q, r) = AggregationLib.accumulate(q, r, s[p], m);
            }
            answer = AggregationLib.finishMean(q, r, m);

            acceptedMask = _keptMask(answers, s, first, last);
        }
    }

    /// @dev The mask of the answers at sorted positions `first..last`, ties resolved by index.
    function _keptMask(int256[] calldata answers, int256[] memory s, uint256 first, uint256 last)
        private
        pure
        returns (uint256)
    {
        int256 low = s[first];
        int256 high = s[last];
        // Answers equal to `low`, in index order: ranks [lowSkip, lowEnd) are kept.
        uint256 lowSkip;
        uint256 lowEnd;
        // Answers equal to `high` (when different from `low`): ranks [0, highKeep) are kept.
        uint256 highKeep;
        unchecked {
            for (uint256 p = first; p > 0 && s[p - 1] == low; --p) {
                ++lowSkip;
            }
            lowEnd = lowSkip;
            for (uint256 p = first; p <= last && s[p] == low; ++p) {
                ++lowEnd;
            }
            if (high != low) {
                for (uint256 p = last; s[p] == high; --p) {
                    ++highKeep;
                }
            }
        }
        return _maskByRank(answers, low, high, lowSkip, lowEnd, highKeep);
    }

    /// @dev Accepts answers strictly between `low` and `high`, the `low` ones of rank in
    ///      [lowSkip, lowEnd) and the `high` ones of rank below `highKeep` (ranks by index).
    function _maskByRank(
        int256[] calldata answers,
        int256 low,
        int256 high,
        uint256 lowSkip,
        uint256 lowEnd,
        uint256 highKeep
    ) private pure returns (uint256 acceptedMask) {
        uint256 n = answers.length;
        uint256 lowRank;
        uint256 highRank;
        unchecked {
            for (uint256 i; i < n; ++i) {
                int256 x = answers[i];
                if (x > low && x < high) {
                    // forge-lint: disable-next-line(incorrect-shift)
                    acceptedMask |= 1 << i;
                } else if (x == low) {
                    // forge-lint: disable-next-line(incorrect-shift)
                    if (lowRank >= lowSkip && lowRank < lowEnd) acceptedMask |= 1 << i;
                    ++lowRank;
                } else if (x == high) {
                    // forge-lint: disable-next-line(incorrect-shift)
                    if (highRank < highKeep) acceptedMask |= 1 << i;
                    ++highRank;
                }
            }
        }
    }

    /// @inheritdoc IAggregator
    function name() external view returns (string memory) {
        return string.concat("trimmed-mean(k=", Strings.toString(k), ")");
    }
}
