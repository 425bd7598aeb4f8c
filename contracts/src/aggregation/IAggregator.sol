// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title One aggregation rule for the answers of an SLA round (median, trimmed mean, mode, 2DEV, custom).
/// @notice The SLA market calls `aggregate` once per round with the valid reveals, in oracle-index
///         order. Non-numeric answers (booleans, bytes32) travel as the same 32-byte word
///         reinterpreted as `int256`; a rule that only compares for equality (mode) works on them
///         unchanged.
/// @dev Must be a pure function of its input (the market may call it with a gas cap). Reverting
///      means "no aggregate for these answers" (e.g. no strict majority): the round then fails.
interface IAggregator {
    /// @notice Aggregates `answers` into one answer.
    /// @param answers The valid reveals of the round, at most 256, in oracle-index order.
    /// @return answer The aggregate.
    /// @return acceptedMask Bit i is set when `answers[i]` was accepted (contributed to the aggregate).
    function aggregate(int256[] calldata answers) external view returns (int256 answer, uint256 acceptedMask);

    /// @notice A short human-readable name of the rule, e.g. "median" or "trimmed-mean(k=1)".
    function name() external view returns (string memory);
}
