// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAggregator} from "./IAggregator.sol";
import {AggregationLib} from "./AggregationLib.sol";

/// @title Strict-majority mode: the 32-byte word more than half of the answers are equal to.
/// @notice Works on any answer type (numbers, booleans, bytes32) since it only compares words for
///         equality. Accepted: exactly the answers equal to the majority word.
/// @dev Boyer-Moore majority vote (one pass) plus one counting/mask pass: O(n), no memory.
///      Reverts `NoStrictMajority` when no word is shared by more than n / 2 answers (a tie of
///      n / 2 against n / 2 is no majority).
contract ModeAggregator is IAggregator {
    /// @notice No answer is shared by more than half of the answers.
    /// @param count The number of answers.
    /// @param candidateCount How many answers equal the Boyer-Moore candidate (the only word that
    ///        could have been a majority), at most count / 2.
    error NoStrictMajority(uint256 count, uint256 candidateCount);

    /// @inheritdoc IAggregator
    function aggregate(int256[] calldata answers) external pure returns (int256 answer, uint256 acceptedMask) {
        uint256 n = answers.length;
        AggregationLib.checkCount(n);
        int256 candidate;
        uint256 votes;
        uint256 matches;
        unchecked {
            for (uint256 i; i < n; ++i) {
                int256 x = answers[i];
                if (votes == 0) {
                    candidate = x;
                    votes = 1;
                } else if (x == candidate) {
                    ++votes;
                } else {
                    --votes;
                }
            }
            for (uint256 i; i < n; ++i) {
                if (answers[i] == candidate) {
                    // forge-lint: disable-next-line(incorrect-shift)
                    acceptedMask |= 1 << i;
                    ++matches;
                }
            }
        }
        if (2 * matches <= n) revert NoStrictMajority(n, matches);
        answer = candidate;
    }

    /// @inheritdoc IAggregator
    function name() external pure returns (string memory) {
        return "mode";
    }
}
