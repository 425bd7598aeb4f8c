// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AggregatorTestBase} from "./AggregatorTestBase.sol";
import {AggregationLib} from "../../src/aggregation/AggregationLib.sol";
import {MedianAggregator} from "../../src/aggregation/MedianAggregator.sol";
import {TrimmedMeanAggregator} from "../../src/aggregation/TrimmedMeanAggregator.sol";
import {ModeAggregator} from "../../src/aggregation/ModeAggregator.sol";
import {TwoDevAggregator} from "../../src/aggregation/TwoDevAggregator.sol";
import {IAggregator} from "../../src/aggregation/IAggregator.sol";

contract MedianAggregatorTest is AggregatorTestBase {
    MedianAggregator internal agg;

    function setUp() public {
        agg = new MedianAggregator();
    }

    function _check(int256[] memory a, int256 wantAnswer, uint256 wantMask) internal view {
        (int256 answer, uint256 mask) = agg.aggregate(a);
        assertEq(answer, wantAnswer, "answer");
        assertEq(mask, wantMask, "mask");
    }

    function test_name() public view {
        assertEq(agg.name(), "median", "name");
    }

    function test_odd_middleValue() public view {
        _check(_arr(5, 1, 3), 3, _mask(2));
    }

    function test_single() public view {
        _check(_arr(-42), -42, 1);
    }

    function test_even_meanOfMiddleRoundedTowardZero() public view {
        _check(_arr(4, 1, 3, 2), 2, _mask(2) | _mask(3));
        _check(_arr(-4, -1, -3, -2), -2, _mask(2) | _mask(3));
        _check(_arr(-1, 2), 0, 3);
        _check(_arr(-3, 0), -1, 3);
    }

    function test_ties_allTiedAnswersAccepted() public view {
        _check(_arr(7, 7, 1, 7, 9), 7, _mask(0) | _mask(1) | _mask(3));
        // Even count, both middle values tied with others: 1,2,2,3,3,4 -> (2+3)/2 = 2.
        int256[] memory a = new int256[](6);
        (a[0], a[1], a[2], a[3], a[4], a[5]) = (3, 2, 4, 2, 1, 3);
        _check(a, 2, _mask(0) | _mask(1) | _mask(3) | _mask(5));
    }

    function test_extremes_noOverflow() public view {
        int256 max = type(int256).max;
        int256 min = type(int256).min;
        _check(_arr(max, max), max, 3);
        _check(_arr(min, min), min, 3);
        _check(_arr(min, max), 0, 3); // -0.5 -> 0
        _check(_arr(max, max - 1), max - 1, 3); // max - 0.5 -> max - 1
        _check(_arr(min, min + 1), min + 1, 3); // min + 0.5 -> min + 1 (toward zero)
    }

    function test_revertsWithoutAnswers() public {
        vm.expectRevert(AggregationLib.NoAnswers.selector);
        agg.aggregate(new int256[](0));
    }

    function test_revertsAbove256Answers() public {
        vm.expectRevert(abi.encodeWithSelector(AggregationLib.TooManyAnswers.selector, 257));
        agg.aggregate(new int256[](257));
        (int256 answer, uint256 mask) = agg.aggregate(new int256[](256));
        assertEq(answer, 0, "256 zeros");
        assertEq(mask, type(uint256).max, "all accepted");
    }

    /// Median equals the counting-based reference; mask is exactly the answers in [lo, hi].
    function testFuzz_matchesReference(uint256 seed, uint8 n_, uint8 kind_) public view {
        uint256 n = bound(n_, 1, 64);
        uint256 kind = bound(kind_, 0, 3);
        int256[] memory a = _gen(seed, n, kind);
        (int256 answer, uint256 mask) = agg.aggregate(a);
        int256 lo = _kth(a, (n - 1) / 2);
        int256 hi = _kth(a, n / 2);
        if (kind != 1) assertEq(answer, (lo + hi) / 2, "median");
        assertTrue(answer >= lo && answer <= hi, "between middle values");
        for (uint256 i; i < n; ++i) {
            assertEq((mask >> i) & 1 == 1, a[i] >= lo && a[i] <= hi, "mask bit");
        }
        assertEq(mask >> n, 0, "no bits beyond n");
        assertGe(_popcount(mask), n % 2 == 1 ? 1 : 2, "middle answers accepted");
    }

    /// AggregationLib.average equals floor-free exact halving for any pair.
    function testFuzz_average(int256 a, int256 b) public pure {
        int256 got = AggregationLib.average(a, b);
        // Reference via 2x: 2 * got is sum rounded toward zero to even.
        if ((a >= 0) == (b >= 0) && a != 0 && b != 0) {
            // Same sign: compare against halves, which cannot overflow.
            int256 lo = a < b ? a : b;
            int256 hi = a < b ? b : a;
            assertTrue(got >= lo && got <= hi, "within");
        }
        if (a > -(2 ** 254) && a < 2 ** 254 && b > -(2 ** 254) && b < 2 ** 254) {
            assertEq(got, (a + b) / 2, "small inputs");
        }
    }
}

contract TrimmedMeanAggregatorTest is AggregatorTestBase {
    TrimmedMeanAggregator internal agg;

    function setUp() public {
        agg = new TrimmedMeanAggregator(1);
    }

    function test_name() public {
        assertEq(agg.name(), "trimmed-mean(k=1)", "name");
        assertEq(new TrimmedMeanAggregator(12).name(), "trimmed-mean(k=12)", "name 12");
        assertEq(agg.k(), 1, "k");
    }

    function test_constructor_rejectsTooLargeK() public {
        vm.expectRevert(abi.encodeWithSelector(TrimmedMeanAggregator.InvalidTrim.selector, 128));
        new TrimmedMeanAggregator(128);
        assertEq(new TrimmedMeanAggregator(127).k(), 127, "127 fine");
    }

    function test_dropsExtremes() public view {
        (int256 answer, uint256 mask) = agg.aggregate(_arr(10, 1, 100, 3, 5));
        assertEq(answer, 6, "mean of 10, 3, 5");
        assertEq(mask, _mask(0) | _mask(3) | _mask(4), "kept");
    }

    function test_meanRoundsTowardZero() public view {
        (int256 answer,) = agg.aggregate(_arr(0, 1, 2, 100)); // (1 + 2) / 2
        assertEq(answer, 1, "positive");
        (answer,) = agg.aggregate(_arr(0, -1, -2, -100)); // (-1 - 2) / 2
        assertEq(answer, -1, "negative");
        (answer,) = agg.aggregate(_arr(-9, -1, 2, 9)); // (-1 + 2) / 2 = 0.5
        assertEq(answer, 0, "mixed");
    }

    function test_revertsWhenNothingLeft() public {
        vm.expectRevert(abi.encodeWithSelector(TrimmedMeanAggregator.TooFewAnswers.selector, 2, 1));
        agg.aggregate(_arr(1, 2));
        (int256 answer, uint256 mask) = agg.aggregate(_arr(1, 2, 3));
        assertEq(answer, 2, "n = 2k + 1");
        assertEq(mask, _mask(1), "middle");
    }

    function test_revertsWithoutAnswers() public {
        TrimmedMeanAggregator plain = new TrimmedMeanAggregator(0);
        vm.expectRevert(AggregationLib.NoAnswers.selector);
        plain.aggregate(new int256[](0));
    }

    function test_tiesAtCut_byIndex() public view {
        // All equal: drops the lowest index at the bottom and the highest at the top.
        (int256 answer, uint256 mask) = agg.aggregate(_arr(5, 5, 5, 5));
        assertEq(answer, 5, "all equal");
        assertEq(mask, _mask(1) | _mask(2), "middle indices kept");
        // Ties at the low cut: 1(2), 3(0), 3(1), 3(3) -> drop index 2 and index 3.
        (answer, mask) = agg.aggregate(_arr(3, 3, 1, 3));
        assertEq(answer, 3, "low tie");
        assertEq(mask, _mask(0) | _mask(1), "low tie mask");
        // Ties at both cuts: 2(0) 2(2) 7(1) 7(3) with k = 1 -> drop 2(0), 7(3).
        (answer, mask) = agg.aggregate(_arr(2, 7, 2, 7));
        assertEq(answer, 4, "(2 + 7) / 2");
        assertEq(mask, _mask(1) | _mask(2), "both cuts");
    }

    function test_plainMean_extremesNoOverflow() public {
        TrimmedMeanAggregator plain = new TrimmedMeanAggregator(0);
        int256 max = type(int256).max;
        int256 min = type(int256).min;
        (int256 answer, uint256 mask) = plain.aggregate(_arr(max, max, max));
        assertEq(answer, max, "max");
        assertEq(mask, 7, "all");
        (answer,) = plain.aggregate(_arr(min, min, min));
        assertEq(answer, min, "min");
        (answer,) = plain.aggregate(_arr(min, max));
        assertEq(answer, 0, "-0.5 -> 0");
        (answer,) = plain.aggregate(_arr(max, max - 1));
        assertEq(answer, max - 1, "max - 0.5");
        (answer,) = plain.aggregate(_arr(min, min + 1, min + 1));
        assertEq(answer, min + 1, "min + 2/3 toward zero");
    }

    /// Kept set equals the (value, index) bubble-sort reference; answer is their truncated mean and
    /// lies within [min, max] of the kept values.
    function testFuzz_matchesReference(uint256 seed, uint8 n_, uint8 k_, uint8 kind_) public {
        uint256 n = bound(n_, 1, 48);
        uint256 k = bound(k_, 0, (n - 1) / 2);
        uint256 kind = bound(kind_, 0, 3);
        TrimmedMeanAggregator t = new TrimmedMeanAggregator(k);
        int256[] memory a = _gen(seed, n, kind);
        (int256 answer, uint256 mask) = t.aggregate(a);
        uint256[] memory order = _order(a);
        uint256 want;
        int256 lo = type(int256).max;
        int256 hi = type(int256).min;
        for (uint256 p = k; p < n - k; ++p) {
            want |= 1 << order[p];
            if (a[order[p]] < lo) lo = a[order[p]];
            if (a[order[p]] > hi) hi = a[order[p]];
        }
        assertEq(mask, want, "kept mask");
        assertEq(_popcount(mask), n - 2 * k, "kept count");
        assertTrue(answer >= lo && answer <= hi, "within kept range");
        if (kind != 1) assertEq(answer, _maskedMean(a, mask), "mean");
    }

    function testFuzz_revertsWhenNTooSmall(uint8 n_, uint8 k_) public {
        uint256 k = bound(k_, 1, 127);
        uint256 n = bound(n_, 1, 2 * k);
        TrimmedMeanAggregator t = new TrimmedMeanAggregator(k);
        vm.expectRevert(abi.encodeWithSelector(TrimmedMeanAggregator.TooFewAnswers.selector, n, k));
        t.aggregate(new int256[](n));
    }
}

contract ModeAggregatorTest is AggregatorTestBase {
    ModeAggregator internal agg;

    function setUp() public {
        agg = new ModeAggregator();
    }

    function test_name() public view {
        assertEq(agg.name(), "mode", "name");
    }

    function test_strictMajority() public view {
        (int256 answer, uint256 mask) = agg.aggregate(_arr(1, 2, 1));
        assertEq(answer, 1, "majority");
        assertEq(mask, _mask(0) | _mask(2), "mask");
        (answer, mask) = agg.aggregate(_arr(9, 4, 9, 4, 9));
        assertEq(answer, 9, "3 of 5");
        assertEq(mask, 21, "mask 3 of 5");
        (answer, mask) = agg.aggregate(_arr(-3));
        assertEq(answer, -3, "single");
        assertEq(mask, 1, "single mask");
    }

    function test_words_boolsAndBytes32() public view {
        int256 yes = int256(uint256(1));
        int256 h = int256(uint256(keccak256("answer")));
        (int256 answer,) = agg.aggregate(_arr(yes, 0, yes));
        assertEq(answer, yes, "bool true");
        (answer,) = agg.aggregate(_arr(h, h, int256(uint256(keccak256("other")))));
        assertEq(bytes32(uint256(answer)), keccak256("answer"), "bytes32");
    }

    function test_revertsWithoutStrictMajority() public {
        vm.expectRevert(abi.encodeWithSelector(ModeAggregator.NoStrictMajority.selector, 2, 1));
        agg.aggregate(_arr(1, 2));
        vm.expectRevert(abi.encodeWithSelector(ModeAggregator.NoStrictMajority.selector, 4, 2));
        agg.aggregate(_arr(1, 1, 2, 2));
        vm.expectRevert(abi.encodeWithSelector(ModeAggregator.NoStrictMajority.selector, 5, 1)); // candidate 3
        agg.aggregate(_arr(1, 1, 2, 2, 3));
    }

    function test_revertsWithoutAnswers() public {
        vm.expectRevert(AggregationLib.NoAnswers.selector);
        agg.aggregate(new int256[](0));
    }

    /// Majority detection equals a counting reference; the mask is exactly the majority.
    function testFuzz_matchesReference(uint256 seed, uint8 n_, uint8 values_) public {
        uint256 n = bound(n_, 1, 64);
        uint256 values = bound(values_, 1, 4);
        int256[] memory a = new int256[](n);
        for (uint256 i; i < n; ++i) {
            a[i] = int256(uint256(keccak256(abi.encode(seed, i))) % values) * 1e18;
        }
        int256 best;
        uint256 bestCount;
        for (uint256 i; i < n; ++i) {
            uint256 c;
            for (uint256 j; j < n; ++j) {
                if (a[j] == a[i]) ++c;
            }
            if (c > bestCount) (best, bestCount) = (a[i], c);
        }
        if (2 * bestCount <= n) {
            vm.expectPartialRevert(ModeAggregator.NoStrictMajority.selector);
            agg.aggregate(a);
            return;
        }
        (int256 answer, uint256 mask) = agg.aggregate(a);
        assertEq(answer, best, "majority");
        for (uint256 i; i < n; ++i) {
            assertEq((mask >> i) & 1 == 1, a[i] == best, "mask bit");
        }
    }
}

contract TwoDevAggregatorTest is AggregatorTestBase {
    TwoDevAggregator internal agg;

    function setUp() public {
        agg = new TwoDevAggregator();
    }

    function test_name() public view {
        assertEq(agg.name(), "2dev", "name");
    }

    function test_allEqual_allAccepted() public view {
        (int256 answer, uint256 mask) = agg.aggregate(_arr(7, 7, 7));
        assertEq(answer, 7, "answer");
        assertEq(mask, 7, "all");
        (answer, mask) = agg.aggregate(_arr(-7));
        assertEq(answer, -7, "single");
        assertEq(mask, 1, "single mask");
    }

    function test_excludesOutlier() public view {
        int256[] memory a = new int256[](7);
        for (uint256 i; i < 6; ++i) {
            a[i] = 10;
        }
        a[6] = 1000;
        (int256 answer, uint256 mask) = agg.aggregate(a);
        assertEq(answer, 10, "outlier dropped");
        assertEq(mask, 63, "first six");
    }

    function test_smallN_neverExcludes() public view {
        // Samuelson: |x - mean| <= sigma * sqrt(n - 1) <= 2 sigma for n <= 5.
        (int256 answer, uint256 mask) = agg.aggregate(_arr(1, 2, 3, 4, 100));
        assertEq(answer, 22, "mean of all");
        assertEq(mask, 31, "all");
    }

    function test_boundaryIsInclusive() public view {
        // 4 x 0 and 1 x 5? n = 5 never excludes; use n = 6: 5 x 0 and 1 x 6:
        // S = 6, V = 6 * 36 - 36 = 180, 4V = 720; outlier (6*6 - 6)^2 = 900 > 720 -> excluded.
        int256[] memory a = new int256[](6);
        a[5] = 6;
        (, uint256 mask) = agg.aggregate(a);
        assertEq(mask, 31, "excluded");
        // 8 values, 4 x -1 and 4 x +1: every |x - mean| = sigma exactly -> all accepted.
        int256[] memory b = new int256[](8);
        for (uint256 i; i < 8; ++i) {
            b[i] = i % 2 == 0 ? int256(-1) : int256(1);
        }
        (int256 answer, uint256 maskB) = agg.aggregate(b);
        assertEq(answer, 0, "mean 0");
        assertEq(maskB, 255, "all within");
    }

    function test_meanRoundsTowardZero() public view {
        (int256 answer,) = agg.aggregate(_arr(-1, -2));
        assertEq(answer, -1, "-1.5 -> -1");
        (answer,) = agg.aggregate(_arr(1, 2));
        assertEq(answer, 1, "1.5 -> 1");
        (answer,) = agg.aggregate(_arr(type(int256).min, type(int256).min + 1));
        assertEq(answer, type(int256).min + 1, "near min");
        (answer,) = agg.aggregate(_arr(type(int256).max, type(int256).max - 1));
        assertEq(answer, type(int256).max - 1, "near max");
    }

    function test_revertsWhenRangeTooLarge() public {
        int256 r = int256(1 << 112);
        vm.expectRevert(abi.encodeWithSelector(TwoDevAggregator.RangeTooLarge.selector, uint256(r)));
        agg.aggregate(_arr(0, r));
        vm.expectRevert(abi.encodeWithSelector(TwoDevAggregator.RangeTooLarge.selector, type(uint256).max));
        agg.aggregate(_arr(type(int256).min, type(int256).max));
        (int256 answer,) = agg.aggregate(_arr(-r / 2, r / 2 - 1));
        assertEq(answer, 0, "just inside");
    }

    function test_revertsWithoutAnswers() public {
        vm.expectRevert(AggregationLib.NoAnswers.selector);
        agg.aggregate(new int256[](0));
    }

    /// Against a reference from squared deviations: accepted iff n * (n x_i - S)^2 <= 4 * sum_j (n x_j - S)^2
    /// (never a value farther than 2 sigma, never one within excluded), answer = truncated mean
    /// of the accepted, which lie in [min, max].
    function testFuzz_matchesReference(uint256 seed, uint8 n_, uint8 kind_, uint256 outlier) public view {
        uint256 n = bound(n_, 1, 64);
        uint256 kind = bound(kind_, 0, 3);
        if (kind == 1) kind = 2;
        int256[] memory a = _gen(seed, n, kind);
        // Sometimes plant an outlier.
        if (outlier % 3 == 0) a[outlier % n] = a[0] + int256(bound(outlier, 0, 1 << 104));
        (int256 answer, uint256 mask) = agg.aggregate(a);
        int256 sum;
        for (uint256 i; i < n; ++i) {
            sum += a[i];
        }
        int256 ni = int256(n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            int256 d = ni * a[i] - sum;
            total += uint256(d * d);
        }
        for (uint256 i; i < n; ++i) {
            int256 d = ni * a[i] - sum;
            bool within = n * uint256(d * d) <= 4 * total;
            assertEq((mask >> i) & 1 == 1, within, "mask bit");
        }
        assertGe(_popcount(mask), 1, "something accepted");
        assertEq(answer, _maskedMean(a, mask), "mean of accepted");
    }
}

/// Gas of `aggregate` for n = 7 and n = 31 (execution gas of the external call frame, from
/// `vm.lastCallGas`), for price-like answers in random order and, for the sorting rules, in
/// descending order (insertion sort's worst case).
contract AggregatorGasTest is AggregatorTestBase {
    function _measure(IAggregator agg, int256[] memory a, string memory key) internal returns (uint256 gas) {
        uint256 before = gasleft();
        agg.aggregate(a);
        uint256 caller = before - gasleft();
        gas = vm.lastCallGas().gasTotalUsed;
        emit log_named_uint(key, gas);
        emit log_named_uint(string.concat(key, ".caller"), caller);
    }

    function _descending(uint256 n) internal pure returns (int256[] memory a) {
        a = new int256[](n);
        for (uint256 i; i < n; ++i) {
            a[i] = 2000e8 + int256(n - i);
        }
    }

    function test_gas_aggregate() public {
        IAggregator median = new MedianAggregator();
        IAggregator trimmed = new TrimmedMeanAggregator(2);
        IAggregator mode = new ModeAggregator();
        IAggregator twoDev = new TwoDevAggregator();
        int256[] memory r7 = _gen(1, 7, 3);
        int256[] memory r31 = _gen(1, 31, 3);
        int256[] memory same7 = _gen(1, 7, 3);
        int256[] memory same31 = _gen(1, 31, 3);
        for (uint256 i; i < 7; ++i) {
            same7[i] = i < 4 ? int256(2000e8) : same7[i];
        }
        for (uint256 i; i < 31; ++i) {
            same31[i] = i < 16 ? int256(2000e8) : same31[i];
        }
        assertLt(_measure(median, r7, "gas.median.n7"), 15_000, "median 7");
        assertLt(_measure(median, r31, "gas.median.n31"), 40_000, "median 31");
        assertLt(_measure(median, _descending(31), "gas.median.n31.descending"), 60_000, "median 31 worst");
        assertLt(_measure(trimmed, r7, "gas.trimmedMean(k=2).n7"), 15_000, "trimmed 7");
        assertLt(_measure(trimmed, r31, "gas.trimmedMean(k=2).n31"), 45_000, "trimmed 31");
        assertLt(_measure(trimmed, _descending(31), "gas.trimmedMean(k=2).n31.descending"), 65_000, "trimmed worst");
        assertLt(_measure(mode, same7, "gas.mode.n7"), 10_000, "mode 7");
        assertLt(_measure(mode, same31, "gas.mode.n31"), 25_000, "mode 31");
        assertLt(_measure(twoDev, r7, "gas.2dev.n7"), 12_000, "2dev 7");
        assertLt(_measure(twoDev, r31, "gas.2dev.n31"), 35_000, "2dev 31");
    }
}
