// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IReputation, IScoreFormula, ISlaDirectory} from "./IReputation.sol";

/// @title Reputation: per-oracle round records, purchaser ratings and the score bids are ranked by.
/// @notice Markets the owner authorized (`setWriter`) report every finished round with
///         `recordRound`; each oracle has one packed `Record` overall (jobType `bytes32(0)`) and one
///         per job type. The purchaser of an SLA may rate each of its selected oracles once (1-5
///         stars). `score` hands the records and ratings to the current `IScoreFormula`; this
///         contract is its own default formula (see `score(Record,Record,uint256,uint256)`), and the
///         owner may replace it.
/// @dev Counters saturate instead of overflowing, so a market's `recordRound` never reverts on
///      arithmetic. An accepted bit without its completed bit is ignored (accepted implies completed).
contract Reputation is IReputation, IScoreFormula, Ownable {
    /// @notice Scores are basis points.
    uint256 public constant MAX_SCORE = 10_000;
    /// @notice Weight of the reliability part of the default score, in basis points; ratings get the rest.
    uint256 public constant RELIABILITY_WEIGHT = 7500;
    /// @notice Forfeited penalties at which the default score is halved (10 LINK); it halves
    ///         again at 3x, i.e. the factor is PENALTY_SCALE / (PENALTY_SCALE + penalties).
    uint256 public constant PENALTY_SCALE = 10 ether;

    /// @dev Running totals of an oracle's star ratings. One slot.
    struct Ratings {
        uint128 sum;
        uint128 count;
    }

    mapping(address oracle => mapping(bytes32 jobType => Record)) private s_records;
    mapping(address oracle => Ratings) private s_ratings;
    mapping(address market => mapping(uint256 slaId => mapping(address oracle => uint8 stars))) private s_ratingOf;
    mapping(address market => bool authorized) private s_writers;
    IScoreFormula private s_formula;

    /// @notice A market was authorized or deauthorized as a writer.
    /// @param market The market.
    /// @param authorized Whether it may now record rounds (and its SLAs be rated).
    event WriterSet(address indexed market, bool authorized);
    /// @notice The score formula was replaced.
    /// @param formula The new formula (this contract = the default formula).
    event ScoreFormulaSet(address indexed formula);

    /// @notice The caller (or the named market) is not an authorized writer.
    error UnauthorizedWriter(address market);
    /// @notice `oracles` and `responseBlocks` differ in length.
    error LengthMismatch(uint256 oracles, uint256 responseBlocks);
    /// @notice More than 256 oracles in one round.
    error TooManyOracles(uint256 count);
    /// @notice Stars must be 1..5.
    error InvalidStars(uint8 stars);
    /// @notice Only the SLA's purchaser may rate its oracles.
    error NotPurchaser(address caller, address purchaser);
    /// @notice The oracle was not selected for the SLA.
    error NotSelected(uint256 slaId, address oracle);
    /// @notice This (market, slaId, oracle) was already rated.
    error AlreadyRated(address market, uint256 slaId, address oracle);
    /// @notice The zero address is neither a writer nor a formula.
    error ZeroAddress();

    /// @param owner The account that authorizes markets and may replace the score formula.
    constructor(address owner) Ownable(owner) {
        s_formula = IScoreFormula(address(this));
        emit ScoreFormulaSet(address(this));
    }

    // ------------------------------------------------------------------------------------------
    // Administration
    // ------------------------------------------------------------------------------------------

    /// @notice Authorizes or deauthorizes `market` to record rounds; ratings are only accepted for
    ///         SLAs of authorized markets. Only the owner.
    /// @param market The market contract.
    /// @param authorized The new state.
    function setWriter(address market, bool authorized) external onlyOwner {
        if (market == address(0)) revert ZeroAddress();
        s_writers[market] = authorized;
        emit WriterSet(market, authorized);
    }

    /// @notice Replaces the score formula (pass this contract's address for the default). Only the owner.
    /// @param formula The new formula.
    function setScoreFormula(IScoreFormula formula) external onlyOwner {
        if (address(formula) == address(0)) revert ZeroAddress();
        s_formula = formula;
        emit ScoreFormulaSet(address(formula));
    }

    /// @notice Whether `market` may record rounds.
    function isWriter(address market) external view returns (bool) {
        return s_writers[market];
    }

    /// @notice The current score formula (this contract when the default is in use).
    function scoreFormula() external view returns (IScoreFormula) {
        return s_formula;
    }

    // ------------------------------------------------------------------------------------------
    // Recording and rating
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IReputation
    function recordRound(
        bytes32 jobType,
        uint256 roundId,
        address[] calldata oracles,
        uint256 completedMask,
        uint256 acceptedMask,
        uint64[] calldata responseBlocks,
        uint256 penalizedMask,
        uint96 penalty
    ) external {
        if (!s_writers[msg.sender]) revert UnauthorizedWriter(msg.sender);
        uint256 n = oracles.length;
        if (n > 256) revert TooManyOracles(n);
        if (responseBlocks.length != n) revert LengthMismatch(n, responseBlocks.length);
        acceptedMask &= completedMask;
        for (uint256 i; i < n;) {
            _recordOne(
                oracles[i],
                jobType,
                (completedMask >> i) & 1 == 1,
                (acceptedMask >> i) & 1 == 1,
                responseBlocks[i],
                (penalizedMask >> i) & 1 == 1 ? penalty : 0
            );
            unchecked {
                ++i;
            }
        }
        emit RoundRecorded(msg.sender, jobType, roundId);
    }

    /// @notice Rates `oracle` for its service in SLA `slaId` of `market`: 1 (worst) to 5 (best) stars.
    ///         Only the SLA's purchaser, once per (market, slaId, oracle), for a selected oracle of
    ///         an authorized market.
    /// @param market The market of the SLA (must be an authorized writer).
    /// @param slaId The SLA.
    /// @param oracle The oracle (must be selected for the SLA).
    /// @param stars 1..5.
    function rate(address market, uint256 slaId, address oracle, uint8 stars) external {
        if (!s_writers[market]) revert UnauthorizedWriter(market);
        if (stars == 0 || stars > 5) revert InvalidStars(stars);
        address purchaser = ISlaDirectory(market).purchaserOf(slaId);
        if (purchaser == address(0) || msg.sender != purchaser) revert NotPurchaser(msg.sender, purchaser);
        if (!ISlaDirectory(market).isSelected(slaId, oracle)) revert NotSelected(slaId, oracle);
        if (s_ratingOf[market][slaId][oracle] != 0) revert AlreadyRated(market, slaId, oracle);
        s_ratingOf[market][slaId][oracle] = stars;
        Ratings storage r = s_ratings[oracle];
        unchecked {
            // A uint128 count cannot be reached by one-per-(market, SLA, oracle) ratings.
            r.sum += stars;
            r.count += 1;
        }
        emit OracleRated(market, slaId, oracle, stars);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IReputation
    function recordOf(address oracle, bytes32 jobType) external view returns (Record memory) {
        return s_records[oracle][jobType];
    }

    /// @notice Sum and number of the star ratings `oracle` received.
    function ratingsOf(address oracle) external view returns (uint256 sum, uint256 count) {
        Ratings memory r = s_ratings[oracle];
        return (r.sum, r.count);
    }

    /// @notice The stars the purchaser of `slaId` of `market` gave `oracle` (0 = not rated).
    function ratingOf(address market, uint256 slaId, address oracle) external view returns (uint8) {
        return s_ratingOf[market][slaId][oracle];
    }

    /// @inheritdoc IReputation
    function score(address oracle, bytes32 jobType) external view returns (uint256) {
        mapping(bytes32 => Record) storage records = s_records[oracle];
        Record memory overall = records[bytes32(0)];
        Record memory perJob = jobType == bytes32(0) ? overall : records[jobType];
        Ratings memory r = s_ratings[oracle];
        IScoreFormula formula = s_formula;
        if (address(formula) == address(this)) return _defaultScore(overall, perJob, r.sum, r.count);
        return formula.score(overall, perJob, r.sum, r.count);
    }

    /// @notice The default formula, in basis points:
    ///         `score = (7500 * reliability + 2500 * rating) / 10000 * 10 LINK / (10 LINK + penalties)`
    ///         - reliability = 10000 * (A + 1) / (N + 2), with A = accepted rounds and N = assigned
    ///           rounds summed over `overall` and `perJob`: a Laplace-smoothed (one imagined accepted
    ///           and one imagined failed round) accepted-per-assigned ratio, i.e. completion ratio
    ///           times acceptance ratio. Rounds of the job type being scored count twice (they are in
    ///           both records), so per-job history dominates once it exists, and without it the
    ///           overall record is used alone;
    ///         - rating = 10000 * (ratingSum - ratingCount + 2) / (4 * (ratingCount + 1)): the
    ///           average of (stars - 1) / 4 with one imagined 3-star rating;
    ///         - penalties: forfeited deposits over all job types (`overall.penalties`), juels.
    ///         A newcomer scores exactly 5000 (neutral), a long perfect record with 5-star ratings
    ///         approaches 10,000. A recorded round whose answer was not accepted never raises the
    ///         score, an accepted one never lowers it, and every forfeited juel lowers (never raises)
    ///         it. Inconsistent inputs are clamped (accepted <= completed <= assigned,
    ///         count <= ratingSum <= 5 * count), so the result is always in 0..10,000.
    ///         Response times are recorded but not scored (ties are broken by bid order).
    /// @param overall The oracle's counters over all job types.
    /// @param perJob The oracle's counters for the job type being scored.
    /// @param ratingSum Sum of the star ratings.
    /// @param ratingCount Number of ratings.
    /// @return The score in basis points.
    function score(Record calldata overall, Record calldata perJob, uint256 ratingSum, uint256 ratingCount)
        external
        pure
        returns (uint256)
    {
        return _defaultScore(overall, perJob, ratingSum, ratingCount);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _defaultScore(Record memory overall, Record memory perJob, uint256 ratingSum, uint256 ratingCount)
        internal
        pure
        returns (uint256)
    {
        uint256 reliability = (MAX_SCORE * (_accepted(overall) + _accepted(perJob) + 1))
            / (uint256(overall.assigned) + perJob.assigned + 2);

        if (ratingCount > type(uint128).max) ratingCount = type(uint128).max;
        if (ratingSum < ratingCount) ratingSum = ratingCount;
        else if (ratingSum > 5 * ratingCount) ratingSum = 5 * ratingCount;
        uint256 rating = (MAX_SCORE * (ratingSum - ratingCount + 2)) / (4 * (ratingCount + 1));

        uint256 blended = (RELIABILITY_WEIGHT * reliability + (MAX_SCORE - RELIABILITY_WEIGHT) * rating) / MAX_SCORE;
        return (blended * PENALTY_SCALE) / (PENALTY_SCALE + overall.penalties);
    }

    /// @dev `accepted`, clamped to `completed` and `assigned`.
    function _accepted(Record memory rec) private pure returns (uint256 accepted) {
        accepted = rec.accepted;
        if (rec.completed < accepted) accepted = rec.completed;
        if (rec.assigned < accepted) accepted = rec.assigned;
    }

    /// @dev Adds one round to the overall and (for a nonzero job type) the per-job record of `oracle`.
    function _recordOne(address oracle, bytes32 jobType, bool completed, bool accepted, uint64 blocks, uint96 forfeited)
        private
    {
        if (!completed) blocks = 0;
        mapping(bytes32 => Record) storage records = s_records[oracle];
        _update(records[bytes32(0)], completed, accepted, blocks, forfeited);
        if (jobType != bytes32(0)) _update(records[jobType], completed, accepted, blocks, forfeited);
    }

    function _update(Record storage rec, bool completed, bool accepted, uint64 blocks, uint96 forfeited) private {
        Record memory r = rec;
        unchecked {
            if (r.assigned < type(uint32).max) ++r.assigned;
            if (completed && r.completed < type(uint32).max) ++r.completed;
            if (accepted && r.accepted < type(uint32).max) ++r.accepted;
            r.responseBlocks =
                blocks > type(uint64).max - r.responseBlocks ? type(uint64).max : r.responseBlocks + blocks;
            r.penalties = forfeited > type(uint96).max - r.penalties ? type(uint96).max : r.penalties + forfeited;
        }
        rec.assigned = r.assigned;
        rec.completed = r.completed;
        rec.accepted = r.accepted;
        rec.responseBlocks = r.responseBlocks;
        rec.penalties = r.penalties;
    }
}
