// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Shared helpers of the orakel aggregators: input checks, an in-memory sort and an
///        overflow-free mean.
/// @dev Everything is internal, so each aggregator inlines what it uses.
library AggregationLib {
    /// @notice The most answers an aggregator accepts (the accepted mask has 256 bits).
    uint256 internal constant MAX_ANSWERS = 256;

    /// @notice `aggregate` was called without answers.
    error NoAnswers();
    /// @notice More answers than `MAX_ANSWERS`.
    error TooManyAnswers(uint256 count);

    /// @notice Reverts unless `1 <= n <= MAX_ANSWERS`.
    function checkCount(uint256 n) internal pure {
        if (n == 0) revert NoAnswers();
        if (n > MAX_ANSWERS) revert TooManyAnswers(n);
    }

    /// @notice A sorted (ascending) memory copy of `answers`.
    /// @dev Binary insertion sort in assembly: per element a binary search for the first larger
    ///      value (so equal values keep their order: the sort is stable) and one `mcopy` that shifts
    ///      the larger ones up a word. O(n log n) comparisons plus O(n^2) words moved by `mcopy`
    ///      (3 gas per word): ~10k gas for n = 31 in any order.
    function sortedCopy(int256[] calldata answers) internal pure returns (int256[] memory a) {
        a = answers;
        assembly ("memory-safe") {
            let base := add(a, 0x20)
            let end := add(base, shl(5, mload(a)))
            for { let p := add(base, 0x20) } lt(p, end) { p := add(p, 0x20) } {
                let x := mload(p)
                // Already in place (common for nearly sorted input): nothing to move.
                if sgt(mload(sub(p, 0x20)), x) {
                    // Upper bound in [base, p): first word whose value is greater than x.
                    let lo := base
                    let hi := sub(p, 0x20) // known to be greater than x
                    for {} lt(lo, hi) {} {
                        let mid := add(lo, shl(5, shr(6, sub(hi, lo))))
                        switch sgt(mload(mid), x)
                        case 0 { lo := add(mid, 0x20) }
                        default { hi := mid }
                    }
                    mcopy(add(lo, 0x20), lo, sub(p, lo))
                    mstore(lo, x)
                }
            }
        }
    }

    /// @notice `(a + b) / 2` rounded toward zero, without overflow for any two int256.
    function average(int256 a, int256 b) internal pure returns (int256) {
        unchecked {
            // Different signs (or a zero): the sum cannot overflow.
            if ((a < 0) != (b < 0)) return (a + b) / 2;
            // Same sign: halves plus the halves' remainders (both remainders share the sign of
            // the sum, so truncating their sum truncates the total toward zero).
            return a / 2 + b / 2 + (a % 2 + b % 2) / 2;
        }
    }

    /// @notice Accumulates `x` into a mean over `m` values kept as `quotient * m + remainder`.
    /// @dev Never overflows for any int256 inputs: each quotient term is at most |x| / m, so the
    ///      running quotient is bounded by max |x|; the remainder is bounded by m^2.
    function accumulate(int256 quotient, int256 remainder, int256 x, int256 m) internal pure returns (int256, int256) {
        unchecked {
            return (quotient + x / m, remainder + x % m);
        }
    }

    /// @notice The mean `(quotient * m + remainder) / m` rounded toward zero.
    /// @dev The result lies between the smallest and the largest accumulated value, so it fits.
    function finishMean(int256 quotient, int256 remainder, int256 m) internal pure returns (int256 q) {
        unchecked {
            q = quotient + remainder / m;
            int256 r = remainder % m;
            // sum = q * m + r with |r| < m: fix the truncation when q and r have opposite signs.
            if (q > 0 && r < 0) --q;
            else if (q < 0 && r > 0) ++q;
        }
    }
}
