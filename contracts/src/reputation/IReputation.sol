// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title What the SLA market needs from a reputation contract.
/// @notice Records per oracle, overall and per job type, what happened in each SLA round, and
///         returns the score order matching ranks bids by. The score formula is replaceable.
interface IReputation {
    /// @notice Per-oracle counters, overall (jobType 0) and per job type. Packed into one slot.
    /// @param assigned Rounds the oracle was selected for.
    /// @param completed Rounds in which it revealed a valid answer on time.
    /// @param accepted Rounds in which the aggregator accepted its answer.
    /// @param responseBlocks Sum over completed rounds of (commit block - round start block).
    /// @param penalties LINK forfeited as penalty deposits (juels).
    struct Record {
        uint32 assigned;
        uint32 completed;
        uint32 accepted;
        uint64 responseBlocks;
        uint96 penalties;
    }

    /// @notice The outcome of one round for its oracles was recorded.
    /// @param market The market that reported it.
    /// @param jobType The job type the round belongs to.
    /// @param roundId The market's round id.
    event RoundRecorded(address indexed market, bytes32 indexed jobType, uint256 indexed roundId);

    /// @notice The SLA's purchaser rated one of the SLA's oracles.
    /// @param market The market of the SLA.
    /// @param slaId The SLA.
    /// @param oracle The rated oracle.
    /// @param stars 1 (worst) to 5 (best).
    event OracleRated(address indexed market, uint256 indexed slaId, address indexed oracle, uint8 stars);

    /// @notice Records one finished round. Only callable by a market the owner authorized.
    /// @param jobType The job type (the SLA's `jobType`).
    /// @param roundId The market's round id (for the event).
    /// @param oracles The oracles assigned to the round, in index order (at most 256).
    /// @param completedMask Bit i: oracles[i] revealed a valid answer on time.
    /// @param acceptedMask Bit i: the aggregator accepted oracles[i]'s answer.
    /// @param responseBlocks For each oracle, commit block - round start block (0 if not completed).
    /// @param penalizedMask Bit i: oracles[i] forfeited `penalty`.
    /// @param penalty The penalty deposit forfeited by each penalized oracle.
    function recordRound(
        bytes32 jobType,
        uint256 roundId,
        address[] calldata oracles,
        uint256 completedMask,
        uint256 acceptedMask,
        uint64[] calldata responseBlocks,
        uint256 penalizedMask,
        uint96 penalty
    ) external;

    /// @notice The score order matching uses, in basis points (0 = worst, 10,000 = best).
    /// @param oracle The oracle.
    /// @param jobType The job type of the SLA being bid on.
    function score(address oracle, bytes32 jobType) external view returns (uint256);

    /// @notice The counters of `oracle` for `jobType` (`bytes32(0)` = overall).
    function recordOf(address oracle, bytes32 jobType) external view returns (Record memory);
}

/// @title The replaceable part of a reputation contract: turns counters and ratings into a score.
interface IScoreFormula {
    /// @param overall The oracle's counters over all job types.
    /// @param perJob The oracle's counters for the job type being scored.
    /// @param ratingSum Sum of the purchasers' star ratings (1-5) of the oracle.
    /// @param ratingCount Number of ratings.
    /// @return The score in basis points (0..10,000).
    function score(
        IReputation.Record calldata overall,
        IReputation.Record calldata perJob,
        uint256 ratingSum,
        uint256 ratingCount
    ) external view returns (uint256);
}

/// @title What a reputation contract asks a market about an SLA before accepting a rating.
interface ISlaDirectory {
    /// @notice The account that proposed (and paid for) SLA `slaId`; address(0) if none.
    function purchaserOf(uint256 slaId) external view returns (address);

    /// @notice Whether `oracle` was selected to serve SLA `slaId`.
    function isSelected(uint256 slaId, address oracle) external view returns (bool);
}
