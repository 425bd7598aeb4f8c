// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";

/// @dev Input builders and simple reference computations for the aggregator tests.
abstract contract AggregatorTestBase is Test {
    function _arr(int256 a) internal pure returns (int256[] memory r) {
        r = new int256[](1);
        r[0] = a;
    }

    function _arr(int256 a, int256 b) internal pure returns (int256[] memory r) {
        r = new int256[](2);
        (r[0], r[1]) = (a, b);
    }

    function _arr(int256 a, int256 b, int256 c) internal pure returns (int256[] memory r) {
        r = new int256[](3);
        (r[0], r[1], r[2]) = (a, b, c);
    }

    function _arr(int256 a, int256 b, int256 c, int256 d) internal pure returns (int256[] memory r) {
        r = new int256[](4);
        (r[0], r[1], r[2], r[3]) = (a, b, c, d);
    }

    function _arr(int256 a, int256 b, int256 c, int256 d, int256 e) internal pure returns (int256[] memory r) {
        r = new int256[](5);
        (r[0], r[1], r[2], r[3], r[4]) = (a, b, c, d, e);
    }

    function _mask(uint256 a) internal pure returns (uint256) {
        return 1 << a;
    }

    /// @dev `n` pseudo-random answers. kind 0: in [-4, 4] (many ties); 1: any int256; 2: |x| < 2^100;
    ///      3: a price around 2000e8 with small noise.
    function _gen(uint256 seed, uint256 n, uint256 kind) internal pure returns (int256[] memory a) {
        a = new int256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            if (kind == 0) a[i] = int256(h % 9) - 4;
            else if (kind == 1) a[i] = int256(h);
            else if (kind == 2) a[i] = int256(h % (1 << 101)) - int256(1 << 100);
            else a[i] = 2000e8 + int256(h % 1000) - 500;
        }
    }

    /// @dev The `k`-th smallest (0-based) answer, by counting (no sorting).
    function _kth(int256[] memory a, uint256 k) internal pure returns (int256) {
        for (uint256 i; i < a.length; ++i) {
            uint256 less;
            uint256 leq;
            for (uint256 j; j < a.length; ++j) {
                if (a[j] < a[i]) ++less;
                if (a[j] <= a[i]) ++leq;
            }
            if (less <= k && k < leq) return a[i];
        }
        revert("no kth");
    }

    /// @dev Sorted positions of (value, index) pairs by bubble sort: `order[p]` is the index of the
    ///      answer at sorted position p, ties by index.
    function _order(int256[] memory a) internal pure returns (uint256[] memory order) {
        uint256 n = a.length;
        order = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            order[i] = i;
        }
        for (uint256 i; i < n; ++i) {
            for (uint256 j; j + 1 < n - i; ++j) {
                (uint256 x, uint256 y) = (order[j], order[j + 1]);
                if (a[x] > a[y] || (a[x] == a[y] && x > y)) (order[j], order[j + 1]) = (y, x);
            }
        }
    }

    function _popcount(uint256 m) internal pure returns (uint256 c) {
        while (m != 0) {
            m &= m - 1;
            ++c;
        }
    }

    /// @dev Truncated-toward-zero mean of the masked answers, assuming |x| < 2^200.
    function _maskedMean(int256[] memory a, uint256 mask) internal pure returns (int256) {
        int256 sum;
        int256 count;
        for (uint256 i; i < a.length; ++i) {
            if ((mask >> i) & 1 == 1) {
                sum += a[i];
                ++count;
            }
        }
        return sum / count;
    }
}
