// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAggregator} from "./IAggregator.sol";
import {AggregationLib} from "./AggregationLib.sol";

/// @title Median of the answers.
/// @notice Odd count: the middle value. Even count: the mean of the two middle values, rounded
///         toward zero (computed without overflow for any int256).
///         Accepted: every answer equal to a middle value, i.e. every answer `x` with
///         `lo <= x <= hi` where `lo`, `hi` are the middle values of the sorted answers (equal for
///         an odd count). This is the one or two middle answers plus every answer tied with them,
///         so honest oracles that report the same value are all paid, and the choice does not
///         depend on the order in which the oracles were indexed.
/// @dev Tolerates up to floor((n - 1) / 2) arbitrary answers: the median stays between two
///      honest answers. Gas: a calldata-to-memory copy, an insertion sort and one mask pass.
contract MedianAggregator is IAggregator {
    /// @inheritdoc IAggregator
    function aggregate(int256[] calldata answers) external pure returns (int256 answer, uint256 acceptedMask) {
        uint256 n = answers.length;
        AggregationLib.checkCount(n);
        int256[] memory s = AggregationLib.sortedCopy(answers);
        int256 lo;
        int256 hi;
        unchecked {
            lo = s[(n - 1) / 2];
            hi = s[n / 2];
        }
        answer = lo == hi ? lo : AggregationLib.average(lo, hi);
        for (uint256 i; i < n;) {
            int256 x = answers[i];
            // forge-lint: disable-next-line(incorrect-shift)
            if (x >= lo && x <= hi) acceptedMask |= 1 << i;
            unchecked {
                ++i;
            }
        }
    }

    /// @inheritdoc IAggregator
    function name() external pure returns (string memory) {
        return "median";
    }
}
