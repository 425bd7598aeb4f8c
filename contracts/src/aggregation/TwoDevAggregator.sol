// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAggregator} from "./IAggregator.sol";
import {AggregationLib} from "./AggregationLib.sol";

/// @title 2DEV: the mean of the answers within two standard deviations of the mean.
/// @notice With mean mu = S / n and population standard deviation sigma
///         (n^2 sigma^2 = n * sum(x^2) - S^2 =: V), answer x_i is accepted iff
///         |x_i - mu| <= 2 sigma, evaluated exactly in integers as
///         `(n * x_i - S)^2 <= 4 * V` (both sides multiplied by n^2, no square root, no rounding).
///         The aggregate is the mean of the accepted answers, rounded toward zero.
///         All answers equal: sigma = 0, every answer is accepted. By Samuelson's inequality
///         (|x_i - mu| <= sigma * sqrt(n - 1)) nothing can be excluded when n <= 5.
/// @dev Precision: exact (integer arithmetic on values shifted by the minimum answer). Input bound:
///      the spread max - min of the answers must be below 2^112 (`MAX_RANGE`), else the call
///      reverts `RangeTooLarge`; then with n <= 256 every intermediate fits in 256 bits
///      (S < 2^120, n * sum(y^2) < 2^240, 4V < 2^242). 2^112 is about 5.2e33, e.g. prices with
///      18 decimals up to 5e15. A single outlier cannot hide itself by inflating sigma only when
///      n is large enough; prefer median or trimmed mean for small n.
contract TwoDevAggregator is IAggregator {
    /// @notice Exclusive upper bound of max(answers) - min(answers).
    uint256 public constant MAX_RANGE = 1 << 112;

    /// @notice The answers are spread too far apart for exact evaluation.
    /// @param range max(answers) - min(answers).
    error RangeTooLarge(uint256 range);

    /// @inheritdoc IAggregator
    function aggregate(int256[] calldata answers) external pure returns (int256 answer, uint256 acceptedMask) {
        uint256 n = answers.length;
        AggregationLib.checkCount(n);
        int256 min = answers[0];
        int256 max = min;
        unchecked {
            for (uint256 i = 1; i < n; ++i) {
                int256 x = answers[i];
                if (x < min) min = x;
                else if (x > max) max = x;
            }
            // Two's-complement difference is the exact unsigned spread.
            // casting is safe: two's-complement reinterpretation is intended
            // forge-lint: disable-next-line(unsafe-typecast)
            uint256 range = uint256(max) - uint256(min);
            if (range >= MAX_RANGE) revert RangeTooLarge(range);

            // y_i = x_i - min in [0, 2^112).
            uint256 sum;
            uint256 sumSq;
            for (uint256 i; i < n; ++i) {
                // casting is safe: two's-complement reinterpretation is intended
                // forge-lint: disable-next-line(unsafe-typecast)
                uint256 y = uint256(answers[i]) - uint256(min);
                sum += y;
                sumSq += y * y;
            }
            uint256 bound = 4 * (n * sumSq - sum * sum); // 4 n^2 sigma^2 (>= 0 by Cauchy-Schwarz)

            uint256 keptSum;
            uint256 kept;
            for (uint256 i; i < n; ++i) {
                // casting is safe: two's-complement reinterpretation is intended
                // forge-lint: disable-next-line(unsafe-typecast)
                uint256 y = uint256(answers[i]) - uint256(min);
                uint256 ny = n * y;
                uint256 dist = ny > sum ? ny - sum : sum - ny; // |n x_i - S|
                if (dist * dist <= bound) {
                    // forge-lint: disable-next-line(incorrect-shift)
                    acceptedMask |= 1 << i;
                    keptSum += y;
                    ++kept;
                }
            }
            // kept >= 1: the answer closest to the mean satisfies the bound (it is within sigma).
            // casting is safe: keptSum / kept < 2^112
            // forge-lint: disable-next-line(unsafe-typecast)
            int256 base = min + int256(keptSum / kept);
            // Exact mean = base + (keptSum % kept) / kept; round a negative one toward zero.
            if (base < 0 && keptSum % kept != 0) ++base;
            answer = base;
        }
    }

    /// @inheritdoc IAggregator
    function name() external pure returns (string memory) {
        return "2dev";
    }
}
