// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Receives the answers of an SLA's rounds from the SLA market.
/// @notice An SLA names a callback contract and a selector with this signature
///         (`onRoundAnswer(uint256,uint256,int256)` is the conventional one). A reverting
///         callback does not undo the round: the answer stays recorded in the market.
interface ISlaConsumer {
    /// @param slaId The SLA the round belongs to.
    /// @param roundId The market's round id.
    /// @param answer The aggregate answer.
    function onRoundAnswer(uint256 slaId, uint256 roundId, int256 answer) external;
}
