// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title The SLA market: order matching with penalty bids, and commit-reveal rounds.
/// @notice Lifecycle (times are block timestamps, response times are blocks):
///         1. A purchaser proposes an SLA by LINK `transferAndCall(market, n * paymentPerOracle * rounds,
///            abi.encodeCall(ISlaMarket.propose, (terms)))`. `SlaProposed` carries the terms.
///         2. Oracles bid while `block.timestamp < biddingEnds` with
///            `transferAndCall(market, penaltyDeposit, abi.encodeCall(ISlaMarket.bid, (slaId)))`.
///            A bid is accepted only if the deposit is exact and the oracle's reputation score
///            (read from the SLA's reputation contract at bid time) is at least `minReputation`.
///         3. After `biddingEnds` anyone calls `finalize`: the `oracles` best bids by score (ties:
///            earlier bid wins) are selected, the other deposits become withdrawable, and round 1
///            starts. Fewer qualified bids than `oracles`: the SLA is cancelled, everything refunded.
///         4. Each round: selected oracle i commits
///            `commitmentOf(roundId, oracle, answer, salt)` before the commit deadline; the reveal
///            phase opens when all have committed or the commit deadline passed; oracle i reveals
///            `(answer, salt)`; when every committer revealed, or at the reveal deadline via
///            `closeRound`, the aggregator combines the valid reveals and the SLA's callback gets
///            the answer. Selected oracles without a valid reveal forfeit their deposit to the
///            purchaser; revealers whose answer the aggregator accepted are paid.
///         5. Feeds (`rounds > 1`): a selected oracle may start the next round once the previous
///            round's commit phase is over (it claims a deviation); anyone may once `heartbeat`
///            seconds passed since the last round started. After the last round, or when the
///            purchaser ends the SLA between rounds, unspent payment and remaining deposits are
///            credited back.
///         All LINK leaves the market only through `withdraw` (pull payments).
interface ISlaMarket {
    /// @notice State of an SLA.
    enum SlaStatus {
        None,
        Bidding,
        Active,
        Cancelled,
        Ended
    }

    /// @notice State of a round.
    enum RoundStatus {
        None,
        Open,
        Answered,
        Failed
    }

    /// @notice Why a round produced no answer.
    enum RoundFailure {
        None,
        TooFewReveals,
        AggregatorFailed
    }

    /// @notice What the purchaser asks for. Amounts in juels (1e-18 LINK).
    /// @param specId The job spec the oracles run (the externalJobID, as in `OracleRequest`).
    /// @param jobType Reputation category of the work (e.g. keccak256("price:ETH/USD")).
    /// @param params CBOR-encoded query parameters (same encoding as `OracleRequest.data`).
    /// @param oracles Number of oracles n to select (1..64).
    /// @param minResponses Valid reveals needed to aggregate (1..n).
    /// @param minReputation Minimum reputation score of a bidder, basis points.
    /// @param penaltyDeposit Deposit each bidder commits; forfeited on failure.
    /// @param paymentPerOracle Paid per round to each oracle whose answer is accepted.
    /// @param rounds Rounds paid for: 1 for a one-shot request, more for a feed.
    /// @param biddingEnds Timestamp at which bidding closes.
    /// @param commitWindow Seconds from round start until the commit deadline.
    /// @param revealWindow Seconds the reveal phase lasts.
    /// @param heartbeat Feeds: seconds after which anyone may start the next round (0: oracles only).
    /// @param deviationBps Feeds: relative change, in basis points, at which oracles start a round.
    /// @param aggregator The aggregation rule (an `IAggregator`).
    /// @param reputation The reputation contract bids are scored by and rounds are recorded in.
    /// @param callback Contract that receives answers (address(0): none).
    /// @param callbackSelector Selector called on `callback` with (slaId, roundId, answer).
    struct SlaTerms {
        bytes32 specId;
        bytes32 jobType;
        bytes params;
        uint8 oracles;
        uint8 minResponses;
        uint16 minReputation;
        uint96 penaltyDeposit;
        uint96 paymentPerOracle;
        uint32 rounds;
        uint64 biddingEnds;
        uint32 commitWindow;
        uint32 revealWindow;
        uint32 heartbeat;
        uint32 deviationBps;
        address aggregator;
        address reputation;
        address callback;
        bytes4 callbackSelector;
    }

    /// @notice A view of one round.
    /// @param slaId The SLA.
    /// @param status Open, Answered or Failed.
    /// @param startBlock Block in which the round started.
    /// @param commitDeadline Last timestamp at which a commit is accepted.
    /// @param revealDeadline Last timestamp at which a reveal is accepted.
    /// @param commits Number of commitments.
    /// @param reveals Number of valid reveals.
    /// @param revealOpen Whether reveals are accepted now.
    /// @param answer The aggregate (valid when Answered).
    struct RoundView {
        uint256 slaId;
        RoundStatus status;
        uint64 startBlock;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint8 commits;
        uint8 reveals;
        bool revealOpen;
        int256 answer;
    }

    /// @notice A purchaser proposed an SLA; oracles may bid until `terms.biddingEnds`.
    event SlaProposed(uint256 indexed slaId, address indexed purchaser, bytes32 indexed specId, SlaTerms terms);
    /// @notice A bid with its deposit was accepted.
    event BidPlaced(uint256 indexed slaId, address indexed oracle, uint256 score);
    /// @notice Bidding ended with enough qualified bids; `oracles` serve the SLA, in index order.
    event SlaFinalized(uint256 indexed slaId, address[] oracles);
    /// @notice Bidding ended with too few qualified bids; every deposit and the payment are refunded.
    event SlaCancelled(uint256 indexed slaId, uint256 qualifiedBids);
    /// @notice The SLA ended (rounds used up, or ended by the purchaser); `refund` went back to the purchaser.
    event SlaEnded(uint256 indexed slaId, uint256 refund);
    /// @notice A round started.
    event RoundStarted(uint256 indexed slaId, uint256 indexed roundId, uint64 commitDeadline, uint64 revealDeadline);
    /// @notice Oracle committed to an answer in a round.
    event Committed(uint256 indexed roundId, address indexed oracle);
    /// @notice Every selected oracle committed; reveals are accepted until `revealDeadline`.
    event RevealOpened(uint256 indexed roundId, uint64 revealDeadline);
    /// @notice Oracle revealed an answer matching its commitment.
    event Revealed(uint256 indexed roundId, address indexed oracle, int256 answer);
    /// @notice The round's aggregate; bit i of `acceptedMask` is oracle index i.
    event RoundAnswered(uint256 indexed slaId, uint256 indexed roundId, int256 answer, uint256 acceptedMask);
    /// @notice The round ended without an answer.
    event RoundFailed(uint256 indexed slaId, uint256 indexed roundId, RoundFailure reason);
    /// @notice A selected oracle without a valid reveal forfeited its deposit to the purchaser.
    event OracleSlashed(uint256 indexed slaId, uint256 indexed roundId, address indexed oracle, uint256 amount);
    /// @notice An oracle's accepted answer earned its payment.
    event OraclePaid(uint256 indexed roundId, address indexed oracle, uint256 amount);
    /// @notice A deposit (of a non-selected bid, or at the end of the SLA) became withdrawable.
    event DepositReturned(uint256 indexed slaId, address indexed oracle, uint256 amount);
    /// @notice The answer callback reverted or ran out of gas (the round still counts).
    event CallbackFailed(uint256 indexed slaId, uint256 indexed roundId);
    /// @notice LINK credited to `account` was withdrawn.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Proposes an SLA. Only reachable through LINK `transferAndCall` with the exact
    ///         payment `oracles * paymentPerOracle * rounds`; calling it directly reverts.
    function propose(SlaTerms calldata terms) external;

    /// @notice Bids on SLA `slaId`. Only reachable through LINK `transferAndCall` with the exact
    ///         penalty deposit; calling it directly reverts.
    function bid(uint256 slaId) external;

    /// @notice Closes bidding of `slaId` (after `biddingEnds`): selects oracles and starts round 1,
    ///         or cancels the SLA when too few qualified bids arrived.
    function finalize(uint256 slaId) external;

    /// @notice Starts the next round of a feed SLA (see the lifecycle above for who may, when).
    /// @return roundId The new round.
    function startRound(uint256 slaId) external returns (uint256 roundId);

    /// @notice Commits oracle `index`'s answer for `roundId`. Caller must be that oracle.
    /// @param commitment `commitmentOf(roundId, msg.sender, answer, salt)`.
    function commit(uint256 roundId, uint256 index, bytes32 commitment) external;

    /// @notice Reveals oracle `index`'s answer; reverts unless it matches the commitment.
    function reveal(uint256 roundId, uint256 index, int256 answer, bytes32 salt) external;

    /// @notice Ends a round whose reveal deadline passed (or whose commit deadline passed with too
    ///         few commitments): aggregates, pays, slashes, records reputation, calls back.
    function closeRound(uint256 roundId) external;

    /// @notice Ends an active SLA between rounds. Only the purchaser.
    function endSla(uint256 slaId) external;

    /// @notice Sends all LINK credited to the caller to the caller.
    function withdraw() external;

    /// @notice The commitment an oracle must send: binds market, round, oracle, answer and salt.
    function commitmentOf(uint256 roundId, address oracle, int256 answer, bytes32 salt) external view returns (bytes32);

    /// @notice The terms and status of an SLA.
    function slaOf(uint256 slaId) external view returns (SlaTerms memory terms, SlaStatus status, address purchaser);

    /// @notice The selected oracles of an SLA, in index order (empty before finalization).
    function oraclesOf(uint256 slaId) external view returns (address[] memory);

    /// @notice The latest round of an SLA (0 before the first).
    function latestRoundOf(uint256 slaId) external view returns (uint256);

    /// @notice A view of a round.
    function roundOf(uint256 roundId) external view returns (RoundView memory);

    /// @notice LINK credited to `account` and not yet withdrawn.
    function withdrawable(address account) external view returns (uint256);
}
