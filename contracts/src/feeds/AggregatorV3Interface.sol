// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title The standard price-feed read interface (AggregatorV3Interface), so existing consumers
///        can read an orakel feed unchanged.
interface AggregatorV3Interface {
    /// @notice Decimals of `answer`.
    function decimals() external view returns (uint8);

    /// @notice Human-readable description of the feed, e.g. "ETH / USD".
    function description() external view returns (string memory);

    /// @notice Version of the feed implementation.
    function version() external view returns (uint256);

    /// @notice The data of round `_roundId`. Reverts when the round has no data.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt Timestamp at which the round started.
    /// @return updatedAt Timestamp at which the answer was recorded.
    /// @return answeredInRound The round in which the answer was computed.
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice The data of the latest round. Reverts when there is none yet.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt Timestamp at which the round started.
    /// @return updatedAt Timestamp at which the answer was recorded.
    /// @return answeredInRound The round in which the answer was computed.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
