// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677} from "../token/IERC677.sol";
import {IERC677Receiver} from "../token/IERC677Receiver.sol";
import {IAggregator} from "../aggregation/IAggregator.sol";
import {IReputation, ISlaDirectory} from "../reputation/IReputation.sol";
import {ISlaMarket} from "./ISlaMarket.sol";

/// @title SlaMarket: order matching with penalty bids and commit-reveal rounds (ADR 0005).
/// @notice See `ISlaMarket` for the lifecycle. Decisions taken here on top of the interface:
///         - The purchaser may not bid on its own SLA (it would receive its own forfeited deposit).
///         - At most `MAX_BIDS` bids per SLA; when full, a higher-scored bid evicts the newest of the
///           lowest-scored ones (refunded). Selected oracles are numbered in rank order (best first).
///         - `commitWindow` and `revealWindow` are at most `MAX_WINDOW` seconds (~194 days).
///         - Non-selected bidders, refunds, payments and forfeits are credits (`withdraw` pulls them).
///         - Starting a feed round always needs the previous round's commit phase to be over, also
///           for the heartbeat path; an SLA whose active oracles can no longer reach `minResponses`
///           ends by itself when its last open round ends.
///         - Answers outside the int192 range (e.g. bytes32 words) are accepted but cost one more
///           storage slot on reveal.
/// @dev Storage per round (hot path of commit and reveal):
///      - `s_rounds[roundId]`, one word, nonzero from round start:
///        bits 0-63 assigned (active) oracle mask | 64-95 slaId | 96-127 start block (mod 2^32) |
///        128-167 commit deadline | 168-207 reveal deadline | 208-231 reveal window |
///        232-239 commits | 240-247 valid reveals | 248-255 status (`RoundStatus`).
///      - `s_slots[roundId << 6 | index]`, one word per oracle: bit 255 committed, bit 254 revealed,
///        bit 253 wide answer, bits 224-247 commit block - start block (capped), bits 0-223 the
///        commitment truncated to 224 bits; a reveal overwrites bits 0-223 with the answer as int192
///        (or sets the wide flag and stores the answer in `s_wideAnswers`).
///      A commit reads the round word, the oracle at `index` and its slot; a reveal reads the round
///      word and the slot (the commitment binds `msg.sender`, so the oracle need not be looked up).
contract SlaMarket is ISlaMarket, ISlaDirectory, IERC677Receiver {
    /// @notice Most oracles an SLA may ask for.
    uint256 public constant MAX_ORACLES = 64;
    /// @notice Most bids an SLA accepts.
    uint256 public constant MAX_BIDS = 128;
    /// @notice Longest commit or reveal window, in seconds.
    uint256 public constant MAX_WINDOW = type(uint24).max;
    /// @notice Gas given to the aggregator.
    uint256 public constant AGGREGATOR_GAS_LIMIT = 500_000;
    /// @notice Gas given to the answer callback.
    uint256 public constant CALLBACK_GAS_LIMIT = 300_000;
    /// @notice Gas given to `IReputation.recordRound`: this base plus `REPUTATION_GAS_PER_ORACLE` per oracle.
    uint256 public constant REPUTATION_GAS_BASE = 200_000;
    /// @notice Gas given to `IReputation.recordRound` per assigned oracle.
    uint256 public constant REPUTATION_GAS_PER_ORACLE = 60_000;

    /// @dev Gas kept back for making a capped call (cold account access, memory).
    uint256 private constant CALL_OVERHEAD = 10_000;

    uint256 private constant MASK24 = 0xffffff;
    uint256 private constant MASK40 = 0xffffffffff;
    uint256 private constant MASK64 = 0xffffffffffffffff;
    uint256 private constant MASK192 = (1 << 192) - 1;
    uint256 private constant MASK224 = (1 << 224) - 1;

    uint256 private constant SHIFT_SLA = 64;
    uint256 private constant SHIFT_START_BLOCK = 96;
    uint256 private constant SHIFT_COMMIT_DEADLINE = 128;
    uint256 private constant SHIFT_REVEAL_DEADLINE = 168;
    uint256 private constant SHIFT_REVEAL_WINDOW = 208;
    uint256 private constant SHIFT_COMMITS = 232;
    uint256 private constant SHIFT_REVEALS = 240;
    uint256 private constant SHIFT_STATUS = 248;
    uint256 private constant ONE_COMMIT = 1 << 232;
    uint256 private constant ONE_REVEAL = 1 << 240;
    uint256 private constant STATUS_OPEN = uint256(RoundStatus.Open);
    uint256 private constant STATUS_ANSWERED = uint256(RoundStatus.Answered);
    uint256 private constant STATUS_FAILED = uint256(RoundStatus.Failed);

    uint256 private constant SLOT_COMMITTED = 1 << 255;
    uint256 private constant SLOT_REVEALED = 1 << 254;
    uint256 private constant SLOT_WIDE = 1 << 253;
    uint256 private constant SHIFT_DELTA = 224;

    /// @dev `s_membership` value of a bidder; a selected oracle has `SELECTED + index`.
    uint256 private constant BIDDER = 1;
    uint256 private constant SELECTED = 2;

    /// @dev One bid: the oracle and its score at bid time. Array order is bid order.
    struct Bid {
        address oracle;
        uint96 score;
    }

    /// @dev One packed storage word; a struct so that hot paths hash its mapping key once.
    struct Word {
        uint256 value;
    }

    /// @dev An SLA: its terms and its state.
    struct Sla {
        SlaTerms terms;
        address purchaser;
        SlaStatus status;
        uint64 activeMask;
        uint32 roundsStarted;
        uint32 openRounds;
        uint40 lastRoundStart;
        uint128 paymentLeft;
        uint256 latestRound;
    }

    /// @dev What the end of a round gathers: assigned oracles in index order ("positions") and
    ///      the valid reveals in index order.
    struct Outcome {
        uint256 slaId;
        address[] oracles;
        uint256[] indexOf;
        uint64[] responseBlocks;
        int256[] answers;
        uint256[] positionOf;
        uint256 committedMask;
        uint256 completedMask;
        uint256 acceptedMask;
        uint256 acceptedIndexMask;
        uint256 penalizedMask;
        bool answered;
        int256 answer;
    }

    IERC677 private immutable i_link;

    uint256 private s_slaCount;
    uint256 private s_roundCount;
    mapping(uint256 slaId => Sla) private s_slas;
    mapping(uint256 slaId => Bid[]) private s_bids;
    mapping(uint256 slaId => mapping(address oracle => uint256 membership)) private s_membership;
    mapping(uint256 slaId => address[64]) private s_oracles;
    mapping(uint256 roundId => Word) private s_rounds;
    mapping(uint256 key => Word) private s_slots;
    mapping(uint256 key => int256 answer) private s_wideAnswers;
    mapping(uint256 roundId => int256 answer) private s_answers;
    mapping(address account => uint256 amount) private s_credits;

    /// @notice The reputation contract did not accept the round's record (reverted or ran out of gas).
    /// @param slaId The SLA.
    /// @param roundId The round whose record was lost.
    event ReputationRecordFailed(uint256 indexed slaId, uint256 indexed roundId);

    /// @notice `onTokenTransfer` was called by someone other than the LINK token.
    error OnlyLinkToken(address caller);
    /// @notice `propose` and `bid` are only reachable through LINK `transferAndCall`.
    error OnlyViaTransferAndCall();
    /// @notice The `transferAndCall` payload is neither `propose` nor `bid` calldata.
    error UnsupportedPayload(bytes4 selector);
    /// @notice `oracles` must be 1..64.
    error InvalidOracleCount(uint256 oracles);
    /// @notice `minResponses` must be 1..oracles.
    error InvalidMinResponses(uint256 minResponses);
    /// @notice `rounds` must be at least 1.
    error InvalidRounds();
    /// @notice `biddingEnds` must be in the future.
    error InvalidBiddingEnd(uint256 biddingEnds);
    /// @notice Commit and reveal windows must be 1..MAX_WINDOW seconds.
    error InvalidWindow(uint256 commitWindow, uint256 revealWindow);
    /// @notice The aggregator or the reputation contract has no code.
    error NotAContract(address account);
    /// @notice The callback may not be the LINK token, the market or the reputation contract.
    error InvalidCallback(address callback);
    /// @notice The LINK sent with the proposal is not `oracles * paymentPerOracle * rounds`.
    error WrongPayment(uint256 expected, uint256 received);
    /// @notice The SLA is not taking bids (unknown, or bidding was finalized).
    error SlaNotBidding(uint256 slaId);
    /// @notice Bidding on the SLA ended at `biddingEnds`.
    error BiddingClosed(uint256 slaId);
    /// @notice The LINK sent with the bid is not the SLA's penalty deposit.
    error WrongDeposit(uint256 expected, uint256 received);
    /// @notice The purchaser may not bid on its own SLA.
    error PurchaserCannotBid(uint256 slaId);
    /// @notice The oracle already bid on the SLA.
    error AlreadyBid(uint256 slaId, address oracle);
    /// @notice The SLA already has `MAX_BIDS` bids, none with a lower score than this one.
    error TooManyBids(uint256 slaId);
    /// @notice The bidder's reputation score is below the SLA's minimum.
    error ReputationTooLow(uint256 score, uint256 minimum);
    /// @notice `finalize` before `biddingEnds`.
    error BiddingNotOver(uint256 slaId);
    /// @notice The SLA is not active (not finalized, cancelled or ended).
    error SlaNotActive(uint256 slaId);
    /// @notice Every paid-for round of the SLA was started.
    error NoRoundsLeft(uint256 slaId);
    /// @notice The previous round still takes commitments.
    error CommitPhaseOpen(uint256 roundId);
    /// @notice The caller is not an active selected oracle and the heartbeat has not passed (or is 0).
    error NotAllowedToStartRound(address caller);
    /// @notice Fewer active oracles than `minResponses`: a round could not be answered.
    error TooFewActiveOracles(uint256 slaId);
    /// @notice The round is not open (unknown or ended).
    error RoundNotOpen(uint256 roundId);
    /// @notice The round's commit deadline passed.
    error CommitClosed(uint256 roundId);
    /// @notice The caller is not the active oracle at `index` of the round.
    error NotRoundOracle(uint256 roundId, uint256 index, address caller);
    /// @notice Oracle `index` already committed in the round.
    error AlreadyCommitted(uint256 roundId, uint256 index);
    /// @notice Reveals open when every assigned oracle committed or the commit deadline passed.
    error RevealNotOpen(uint256 roundId);
    /// @notice The round's reveal deadline passed.
    error RevealClosed(uint256 roundId);
    /// @notice Oracle `index` did not commit in the round.
    error NotCommitted(uint256 roundId, uint256 index);
    /// @notice Oracle `index` already revealed in the round.
    error AlreadyRevealed(uint256 roundId, uint256 index);
    /// @notice The revealed answer and salt (with the caller's address) do not match the commitment.
    error CommitmentMismatch(uint256 roundId, uint256 index);
    /// @notice `closeRound` before the reveal deadline (and not a commit phase that ended short).
    error RoundNotDue(uint256 roundId);
    /// @notice Only the SLA's purchaser may do this.
    error NotPurchaser(address caller);
    /// @notice The SLA has open rounds.
    error RoundsInProgress(uint256 slaId);
    /// @notice Nothing is credited to the caller.
    error NothingToWithdraw();
    /// @notice Too little gas left to give a capped external call its full allowance.
    error InsufficientGas(uint256 available, uint256 required);
    /// @notice The LINK token refused a transfer.
    error LinkTransferFailed(address recipient, uint256 amount);

    /// @param link The LINK token that pays for SLAs and holds deposits.
    constructor(address link) {
        i_link = IERC677(link);
    }

    // ------------------------------------------------------------------------------------------
    // Order matching
    // ------------------------------------------------------------------------------------------

    /// @notice Entry point of proposals and bids: called by the LINK token from `transferAndCall`.
    /// @param sender The account that called `transferAndCall` (purchaser or bidder).
    /// @param value The LINK transferred (payment or deposit).
    /// @param data ABI calldata of `propose` or `bid`.
    function onTokenTransfer(address sender, uint256 value, bytes calldata data) external override {
        if (msg.sender != address(i_link)) revert OnlyLinkToken(msg.sender);
        bytes4 selector = data.length < 4 ? bytes4(0) : bytes4(data[:4]);
        if (selector == ISlaMarket.propose.selector) {
            _propose(sender, value, abi.decode(data[4:], (SlaTerms)));
        } else if (selector == ISlaMarket.bid.selector) {
            _bid(sender, value, abi.decode(data[4:], (uint256)));
        } else {
            revert UnsupportedPayload(selector);
        }
    }

    /// @inheritdoc ISlaMarket
    function propose(SlaTerms calldata) external pure override {
        revert OnlyViaTransferAndCall();
    }

    /// @inheritdoc ISlaMarket
    function bid(uint256) external pure override {
        revert OnlyViaTransferAndCall();
    }

    /// @inheritdoc ISlaMarket
    function finalize(uint256 slaId) external override {
        Sla storage s = s_slas[slaId];
        if (s.status != SlaStatus.Bidding) revert SlaNotBidding(slaId);
        // Bidding windows are long compared with a validator's timestamp leeway.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < s.terms.biddingEnds) revert BiddingNotOver(slaId);

        Bid[] storage bids = s_bids[slaId];
        uint256 count = bids.length;
        uint256 n = s.terms.oracles;
        uint256 deposit = s.terms.penaltyDeposit;
        if (count < n) {
            s.status = SlaStatus.Cancelled;
            for (uint256 j = 0; j < count; ++j) {
                _returnDeposit(slaId, bids[j].oracle, deposit);
            }
            uint256 payment = s.paymentLeft;
            s.paymentLeft = 0;
            s_credits[s.purchaser] += payment;
            emit SlaCancelled(slaId, count);
            return;
        }

        address[] memory bidders = new address[](count);
        uint256[] memory scores = new uint256[](count);
        for (uint256 j = 0; j < count; ++j) {
            Bid memory b = bids[j];
            bidders[j] = b.oracle;
            scores[j] = b.score;
        }
        // Selection of the n best: highest score first; a strict comparison keeps the earlier bid on ties.
        bool[] memory taken = new bool[](count);
        address[] memory selected = new address[](n);
        address[64] storage slots = s_oracles[slaId];
        mapping(address => uint256) storage membership = s_membership[slaId];
        for (uint256 k = 0; k < n; ++k) {
            uint256 best = type(uint256).max;
            uint256 bestScore;
            for (uint256 j = 0; j < count; ++j) {
                if (!taken[j] && (best == type(uint256).max || scores[j] > bestScore)) {
                    best = j;
                    bestScore = scores[j];
                }
            }
            taken[best] = true;
            address oracle = bidders[best];
            selected[k] = oracle;
            slots[k] = oracle;
            membership[oracle] = SELECTED + k;
        }
        for (uint256 j = 0; j < count; ++j) {
            if (!taken[j]) _returnDeposit(slaId, bidders[j], deposit);
        }
        s.status = SlaStatus.Active;
        // forge-lint: disable-next-line(unsafe-typecast)
        s.activeMask = uint64(MASK64 >> (64 - n));
        emit SlaFinalized(slaId, selected);
        _startRound(slaId, s);
    }

    // ------------------------------------------------------------------------------------------
    // Rounds
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISlaMarket
    function startRound(uint256 slaId) external override returns (uint256 roundId) {
        Sla storage s = s_slas[slaId];
        if (s.status != SlaStatus.Active) revert SlaNotActive(slaId);
        if (s.roundsStarted >= s.terms.rounds) revert NoRoundsLeft(slaId);
        uint256 previous = s.latestRound;
        if (!_commitPhaseOver(s_rounds[previous].value)) revert CommitPhaseOpen(previous);
        uint256 active = s.activeMask;
        uint256 member = s_membership[slaId][msg.sender];
        if (member < SELECTED || (active >> (member - SELECTED)) & 1 == 0) {
            uint256 heartbeat = s.terms.heartbeat;
            // forge-lint: disable-next-line(block-timestamp)
            if (heartbeat == 0 || block.timestamp < uint256(s.lastRoundStart) + heartbeat) {
                revert NotAllowedToStartRound(msg.sender);
            }
        }
        if (_popcount(active) < s.terms.minResponses) revert TooFewActiveOracles(slaId);
        roundId = _startRound(slaId, s);
    }

    /// @inheritdoc ISlaMarket
    function commit(uint256 roundId, uint256 index, bytes32 commitment) external override {
        Word storage round = s_rounds[roundId];
        uint256 word = round.value;
        if (word >> SHIFT_STATUS != STATUS_OPEN) revert RoundNotOpen(roundId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > (word >> SHIFT_COMMIT_DEADLINE) & MASK40) revert CommitClosed(roundId);
        if (
            index >= MAX_ORACLES || (word >> index) & 1 == 0
                // forge-lint: disable-next-line(unsafe-typecast)
                || s_oracles[uint32(word >> SHIFT_SLA)][index] != msg.sender
        ) {
            revert NotRoundOracle(roundId, index, msg.sender);
        }
        Word storage slot = s_slots[(roundId << 6) | index];
        if (slot.value != 0) revert AlreadyCommitted(roundId, index);
        uint256 delta;
        unchecked {
            // Start blocks are stored mod 2^32; the difference is right across a wrap.
            // forge-lint: disable-next-line(unsafe-typecast)
            delta = uint32(uint32(block.number) - uint32(word >> SHIFT_START_BLOCK));
        }
        if (delta > MASK24) delta = MASK24;
        slot.value = SLOT_COMMITTED | (delta << SHIFT_DELTA) | (uint256(commitment) & MASK224);
        emit Committed(roundId, msg.sender);

        unchecked {
            word += ONE_COMMIT;
        }
        if ((word >> SHIFT_COMMITS) & 0xff == _popcount(word & MASK64)) {
            uint256 revealDeadline = block.timestamp + ((word >> SHIFT_REVEAL_WINDOW) & MASK24);
            word = (word & ~(MASK40 << SHIFT_REVEAL_DEADLINE)) | (revealDeadline << SHIFT_REVEAL_DEADLINE);
            // forge-lint: disable-next-line(unsafe-typecast)
            emit RevealOpened(roundId, uint64(revealDeadline));
        }
        round.value = word;
    }

    /// @inheritdoc ISlaMarket
    function reveal(uint256 roundId, uint256 index, int256 answer, bytes32 salt) external override {
        Word storage round = s_rounds[roundId];
        uint256 word = round.value;
        if (word >> SHIFT_STATUS != STATUS_OPEN) revert RoundNotOpen(roundId);
        uint256 commits = (word >> SHIFT_COMMITS) & 0xff;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= (word >> SHIFT_COMMIT_DEADLINE) & MASK40 && commits != _popcount(word & MASK64)) {
            revert RevealNotOpen(roundId);
        }
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > (word >> SHIFT_REVEAL_DEADLINE) & MASK40) revert RevealClosed(roundId);
        if (index >= MAX_ORACLES) revert NotCommitted(roundId, index);
        uint256 key = (roundId << 6) | index;
        Word storage stored = s_slots[key];
        uint256 slot = stored.value;
        if (slot & SLOT_COMMITTED == 0) revert NotCommitted(roundId, index);
        if (slot & SLOT_REVEALED != 0) revert AlreadyRevealed(roundId, index);
        if ((uint256(_commitment(roundId, msg.sender, answer, salt)) ^ slot) & MASK224 != 0) {
            revert CommitmentMismatch(roundId, index);
        }
        slot = (slot & ~MASK224) | SLOT_REVEALED;
        // forge-lint: disable-next-line(unsafe-typecast)
        if (answer == int256(int192(answer))) {
            // forge-lint: disable-next-line(unsafe-typecast)
            slot |= uint256(int256(answer)) & MASK192;
        } else {
            slot |= SLOT_WIDE;
            s_wideAnswers[key] = answer;
        }
        stored.value = slot;
        emit Revealed(roundId, msg.sender, answer);

        unchecked {
            word += ONE_REVEAL;
        }
        if ((word >> SHIFT_REVEALS) & 0xff == commits) {
            // Every committer revealed: the round ends in this transaction.
            _endRound(roundId, word);
        } else {
            round.value = word;
        }
    }

    /// @inheritdoc ISlaMarket
    function closeRound(uint256 roundId) external override {
        uint256 word = s_rounds[roundId].value;
        if (word >> SHIFT_STATUS != STATUS_OPEN) revert RoundNotOpen(roundId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= (word >> SHIFT_REVEAL_DEADLINE) & MASK40) {
            // forge-lint: disable-next-line(unsafe-typecast)
            uint256 minResponses = s_slas[uint32(word >> SHIFT_SLA)].terms.minResponses;
            if (
                // forge-lint: disable-next-line(block-timestamp)
                block.timestamp <= (word >> SHIFT_COMMIT_DEADLINE) & MASK40
                    || (word >> SHIFT_COMMITS) & 0xff >= minResponses
            ) {
                revert RoundNotDue(roundId);
            }
        }
        _endRound(roundId, word);
    }

    /// @inheritdoc ISlaMarket
    function endSla(uint256 slaId) external override {
        Sla storage s = s_slas[slaId];
        if (s.status != SlaStatus.Active) revert SlaNotActive(slaId);
        if (msg.sender != s.purchaser) revert NotPurchaser(msg.sender);
        if (s.openRounds != 0) revert RoundsInProgress(slaId);
        _endSla(slaId, s);
    }

    /// @inheritdoc ISlaMarket
    function withdraw() external override {
        uint256 amount = s_credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        s_credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        if (!i_link.transfer(msg.sender, amount)) revert LinkTransferFailed(msg.sender, amount);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ISlaMarket
    function commitmentOf(uint256 roundId, address oracle, int256 answer, bytes32 salt)
        external
        view
        override
        returns (bytes32)
    {
        return _commitment(roundId, oracle, answer, salt);
    }

    /// @inheritdoc ISlaMarket
    function slaOf(uint256 slaId)
        external
        view
        override
        returns (SlaTerms memory terms, SlaStatus status, address purchaser)
    {
        Sla storage s = s_slas[slaId];
        return (s.terms, s.status, s.purchaser);
    }

    /// @inheritdoc ISlaMarket
    function oraclesOf(uint256 slaId) external view override returns (address[] memory oracles) {
        Sla storage s = s_slas[slaId];
        if (s.status != SlaStatus.Active && s.status != SlaStatus.Ended) return oracles;
        uint256 n = s.terms.oracles;
        oracles = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            oracles[i] = s_oracles[slaId][i];
        }
    }

    /// @inheritdoc ISlaMarket
    function latestRoundOf(uint256 slaId) external view override returns (uint256) {
        return s_slas[slaId].latestRound;
    }

    /// @inheritdoc ISlaMarket
    function roundOf(uint256 roundId) external view override returns (RoundView memory r) {
        uint256 word = s_rounds[roundId].value;
        // forge-lint: disable-next-line(unsafe-typecast)
        r.slaId = uint32(word >> SHIFT_SLA);
        r.status = RoundStatus(word >> SHIFT_STATUS);
        // forge-lint: disable-next-line(unsafe-typecast)
        r.startBlock = uint32(word >> SHIFT_START_BLOCK);
        // forge-lint: disable-next-line(unsafe-typecast)
        r.commitDeadline = uint64((word >> SHIFT_COMMIT_DEADLINE) & MASK40);
        // forge-lint: disable-next-line(unsafe-typecast)
        r.revealDeadline = uint64((word >> SHIFT_REVEAL_DEADLINE) & MASK40);
        // forge-lint: disable-next-line(unsafe-typecast)
        r.commits = uint8(word >> SHIFT_COMMITS);
        // forge-lint: disable-next-line(unsafe-typecast)
        r.reveals = uint8(word >> SHIFT_REVEALS);
        // forge-lint: disable-next-line(block-timestamp)
        r.revealOpen = r.status == RoundStatus.Open && _commitPhaseOver(word) && block.timestamp <= r.revealDeadline;
        r.answer = s_answers[roundId];
    }

    /// @inheritdoc ISlaMarket
    function withdrawable(address account) external view override returns (uint256) {
        return s_credits[account];
    }

    /// @inheritdoc ISlaDirectory
    function purchaserOf(uint256 slaId) external view override returns (address) {
        return s_slas[slaId].purchaser;
    }

    /// @inheritdoc ISlaDirectory
    function isSelected(uint256 slaId, address oracle) external view override returns (bool) {
        return s_membership[slaId][oracle] >= SELECTED;
    }

    /// @notice The LINK an SLA holds in escrow, and its round bookkeeping.
    /// @param slaId The SLA.
    /// @return paymentEscrow Payment not yet paid out or refunded.
    /// @return depositEscrow Deposits still locked (all bids while bidding; active oracles' while active).
    /// @return activeMask Bit i: selected oracle i still serves the SLA.
    /// @return roundsStarted Rounds started so far.
    /// @return openRounds Rounds started and not yet ended.
    function escrowOf(uint256 slaId)
        external
        view
        returns (
            uint256 paymentEscrow,
            uint256 depositEscrow,
            uint256 activeMask,
            uint256 roundsStarted,
            uint256 openRounds
        )
    {
        Sla storage s = s_slas[slaId];
        paymentEscrow = s.paymentLeft;
        activeMask = s.activeMask;
        if (s.status == SlaStatus.Bidding) {
            depositEscrow = s_bids[slaId].length * s.terms.penaltyDeposit;
        } else if (s.status == SlaStatus.Active) {
            depositEscrow = _popcount(activeMask) * s.terms.penaltyDeposit;
        }
        return (paymentEscrow, depositEscrow, activeMask, s.roundsStarted, s.openRounds);
    }

    /// @notice The number of bids on an SLA.
    /// @param slaId The SLA.
    /// @return count Bids placed (at most `MAX_BIDS`).
    function bidCountOf(uint256 slaId) external view returns (uint256 count) {
        return s_bids[slaId].length;
    }

    /// @notice The number of SLAs proposed so far (SLA ids are 1..slaCount).
    /// @return count The count.
    function slaCount() external view returns (uint256 count) {
        return s_slaCount;
    }

    /// @notice The LINK token the market is paid in.
    /// @return link The token address.
    function linkToken() external view returns (address link) {
        return address(i_link);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _propose(address purchaser, uint256 value, SlaTerms memory t) private {
        if (t.oracles == 0 || t.oracles > MAX_ORACLES) revert InvalidOracleCount(t.oracles);
        if (t.minResponses == 0 || t.minResponses > t.oracles) revert InvalidMinResponses(t.minResponses);
        if (t.rounds == 0) revert InvalidRounds();
        // forge-lint: disable-next-line(block-timestamp)
        if (t.biddingEnds <= block.timestamp) revert InvalidBiddingEnd(t.biddingEnds);
        if (t.commitWindow == 0 || t.revealWindow == 0 || t.commitWindow > MAX_WINDOW || t.revealWindow > MAX_WINDOW) {
            revert InvalidWindow(t.commitWindow, t.revealWindow);
        }
        if (t.aggregator.code.length == 0) revert NotAContract(t.aggregator);
        if (t.reputation.code.length == 0) revert NotAContract(t.reputation);
        if (t.callback == address(i_link) || t.callback == address(this) || t.callback == t.reputation) {
            revert InvalidCallback(t.callback);
        }
        uint256 expected = uint256(t.oracles) * t.paymentPerOracle * t.rounds;
        if (value != expected) revert WrongPayment(expected, value);

        uint256 slaId = ++s_slaCount;
        Sla storage s = s_slas[slaId];
        s.terms = t;
        s.purchaser = purchaser;
        s.status = SlaStatus.Bidding;
        // casting to 'uint128' is safe because value is a LINK amount (at most the 1e27 supply)
        // forge-lint: disable-next-line(unsafe-typecast)
        s.paymentLeft = uint128(value);
        emit SlaProposed(slaId, purchaser, t.specId, t);
    }

    function _bid(address oracle, uint256 value, uint256 slaId) private {
        Sla storage s = s_slas[slaId];
        if (s.status != SlaStatus.Bidding) revert SlaNotBidding(slaId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= s.terms.biddingEnds) revert BiddingClosed(slaId);
        if (value != s.terms.penaltyDeposit) revert WrongDeposit(s.terms.penaltyDeposit, value);
        if (oracle == s.purchaser) revert PurchaserCannotBid(slaId);
        if (s_membership[slaId][oracle] != 0) revert AlreadyBid(slaId, oracle);
        Bid[] storage bids = s_bids[slaId];
        uint256 score = IReputation(s.terms.reputation).score(oracle, s.terms.jobType);
        if (score < s.terms.minReputation) revert ReputationTooLow(score, s.terms.minReputation);
        if (bids.length >= MAX_BIDS) _evictWorstBid(slaId, bids, score, s.terms.penaltyDeposit);
        // casting to 'uint96' is safe because the score is clamped to type(uint96).max first
        // forge-lint: disable-next-line(unsafe-typecast)
        bids.push(Bid({oracle: oracle, score: uint96(score > type(uint96).max ? type(uint96).max : score)}));
        s_membership[slaId][oracle] = BIDDER;
        emit BidPlaced(slaId, oracle, score);
    }

    /// @dev The bid list is full: the newest of the lowest-scored bids makes room for a bid with a
    ///      strictly higher score (and gets its deposit back), so first-come bids cannot squat the
    ///      list. Later bids shift down one place, keeping bid order (the tie-break) intact.
    function _evictWorstBid(uint256 slaId, Bid[] storage bids, uint256 score, uint256 deposit) private {
        uint256 count = bids.length;
        uint256 worst;
        uint256 worstScore = type(uint256).max;
        for (uint256 j = 0; j < count; ++j) {
            uint256 sc = bids[j].score;
            if (sc <= worstScore) {
                worst = j;
                worstScore = sc;
            }
        }
        if (score <= worstScore) revert TooManyBids(slaId);
        address evicted = bids[worst].oracle;
        for (uint256 j = worst + 1; j < count; ++j) {
            bids[j - 1] = bids[j];
        }
        bids.pop();
        delete s_membership[slaId][evicted];
        _returnDeposit(slaId, evicted, deposit);
    }

    function _startRound(uint256 slaId, Sla storage s) private returns (uint256 roundId) {
        roundId = ++s_roundCount;
        uint256 revealWindow = s.terms.revealWindow;
        uint256 commitDeadline = block.timestamp + s.terms.commitWindow;
        uint256 revealDeadline = commitDeadline + revealWindow;
        s_rounds[roundId].value = uint256(s.activeMask) | (slaId << SHIFT_SLA)
            | (uint256(uint32(block.number)) << SHIFT_START_BLOCK) | (commitDeadline << SHIFT_COMMIT_DEADLINE)
            | (revealDeadline << SHIFT_REVEAL_DEADLINE) | (revealWindow << SHIFT_REVEAL_WINDOW)
            | (STATUS_OPEN << SHIFT_STATUS);
        s.latestRound = roundId;
        s.roundsStarted += 1;
        s.openRounds += 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        s.lastRoundStart = uint40(block.timestamp);
        // forge-lint: disable-next-line(unsafe-typecast)
        emit RoundStarted(slaId, roundId, uint64(commitDeadline), uint64(revealDeadline));
    }

    /// @dev Ends an open round: aggregates, pays, slashes, records reputation and calls back.
    function _endRound(uint256 roundId, uint256 word) private {
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 slaId = uint32(word >> SHIFT_SLA);
        Sla storage s = s_slas[slaId];
        Outcome memory o = _collect(roundId, slaId, word);

        RoundFailure failure = RoundFailure.TooFewReveals;
        if (o.answers.length >= s.terms.minResponses) {
            (bool ok, int256 answer, uint256 mask) = _aggregate(s.terms.aggregator, o.answers);
            if (ok) {
                o.answered = true;
                o.answer = answer;
                for (uint256 j = 0; j < o.answers.length; ++j) {
                    if ((mask >> j) & 1 == 1) {
                        uint256 k = o.positionOf[j];
                        // forge-lint: disable-next-line(incorrect-shift)
                        o.acceptedMask |= 1 << k;
                        // forge-lint: disable-next-line(incorrect-shift)
                        o.acceptedIndexMask |= 1 << o.indexOf[k];
                    }
                }
            } else {
                failure = RoundFailure.AggregatorFailed;
            }
        }

        // Ending before the reveal deadline happens only through an early `closeRound` (too few
        // commitments): the committers had no chance to reveal, so only silent oracles are slashed.
        // forge-lint: disable-next-line(block-timestamp)
        bool early = block.timestamp <= (word >> SHIFT_REVEAL_DEADLINE) & MASK40;
        _settle(roundId, s, o, early ? o.committedMask : o.completedMask);

        word &= ~(uint256(0xff) << SHIFT_STATUS);
        if (o.answered) {
            s_rounds[roundId].value = word | (STATUS_ANSWERED << SHIFT_STATUS);
            s_answers[roundId] = o.answer;
            emit RoundAnswered(slaId, roundId, o.answer, o.acceptedIndexMask);
        } else {
            s_rounds[roundId].value = word | (STATUS_FAILED << SHIFT_STATUS);
            emit RoundFailed(slaId, roundId, failure);
        }

        uint256 open = s.openRounds - 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        s.openRounds = uint32(open);
        if (open == 0 && (s.roundsStarted == s.terms.rounds || _popcount(s.activeMask) < s.terms.minResponses)) {
            _endSla(slaId, s);
        }

        // External calls last: every state change of the round is done.
        bytes memory record = abi.encodeCall(
            IReputation.recordRound,
            (
                s.terms.jobType,
                roundId,
                o.oracles,
                o.completedMask,
                o.acceptedMask,
                o.responseBlocks,
                o.penalizedMask,
                s.terms.penaltyDeposit
            )
        );
        if (!_callCapped(
                s.terms.reputation, REPUTATION_GAS_BASE + o.oracles.length * REPUTATION_GAS_PER_ORACLE, record
            )) {
            emit ReputationRecordFailed(slaId, roundId);
        }
        address callback = s.terms.callback;
        if (o.answered && callback != address(0)) {
            bytes memory call = abi.encodeWithSelector(s.terms.callbackSelector, slaId, roundId, o.answer);
            if (!_callCapped(callback, CALLBACK_GAS_LIMIT, call)) emit CallbackFailed(slaId, roundId);
        }
    }

    /// @dev Reads the assigned oracles and the valid reveals of a round.
    function _collect(uint256 roundId, uint256 slaId, uint256 word) private view returns (Outcome memory o) {
        uint256 assigned = word & MASK64;
        uint256 n = _popcount(assigned);
        uint256 reveals = (word >> SHIFT_REVEALS) & 0xff;
        o.slaId = slaId;
        o.oracles = new address[](n);
        o.indexOf = new uint256[](n);
        o.responseBlocks = new uint64[](n);
        o.answers = new int256[](reveals);
        o.positionOf = new uint256[](reveals);
        address[64] storage oracles = s_oracles[slaId];
        uint256 k;
        uint256 j;
        for (uint256 i = 0; assigned >> i != 0; ++i) {
            if ((assigned >> i) & 1 == 0) continue;
            o.oracles[k] = oracles[i];
            o.indexOf[k] = i;
            uint256 key = (roundId << 6) | i;
            uint256 slot = s_slots[key].value;
            // forge-lint: disable-next-line(incorrect-shift)
            if (slot != 0) o.committedMask |= 1 << k;
            if (slot & SLOT_REVEALED != 0) {
                // forge-lint: disable-next-line(unsafe-typecast)
                o.answers[j] = slot & SLOT_WIDE != 0 ? s_wideAnswers[key] : int256(int192(uint192(slot)));
                o.positionOf[j] = k;
                // forge-lint: disable-next-line(incorrect-shift)
                o.completedMask |= 1 << k;
                // forge-lint: disable-next-line(unsafe-typecast)
                o.responseBlocks[k] = uint64((slot >> SHIFT_DELTA) & MASK24);
                ++j;
            }
            ++k;
        }
    }

    /// @dev Pays accepted oracles; slashes assigned oracles outside `sparedMask` (those without a
    ///      valid reveal): whole remaining deposit to the purchaser, out of the active set.
    function _settle(uint256 roundId, Sla storage s, Outcome memory o, uint256 sparedMask) private {
        uint256 pay = s.terms.paymentPerOracle;
        uint256 deposit = s.terms.penaltyDeposit;
        uint256 active = s.activeMask;
        uint256 paid;
        uint256 forfeited;
        for (uint256 k = 0; k < o.oracles.length; ++k) {
            address oracle = o.oracles[k];
            if ((o.acceptedMask >> k) & 1 == 1) {
                s_credits[oracle] += pay;
                paid += pay;
                emit OraclePaid(roundId, oracle, pay);
            } else if ((sparedMask >> k) & 1 == 0) {
                // forge-lint: disable-next-line(incorrect-shift)
                uint256 bit = 1 << o.indexOf[k];
                // An oracle already slashed in an overlapping round has nothing left to forfeit.
                if (active & bit != 0) {
                    active &= ~bit;
                    forfeited += deposit;
                    // forge-lint: disable-next-line(incorrect-shift)
                    o.penalizedMask |= 1 << k;
                    emit OracleSlashed(o.slaId, roundId, oracle, deposit);
                }
            }
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        s.activeMask = uint64(active);
        // casting to 'uint128' is safe because paid <= paymentLeft (at most n payments per round and rounds)
        // forge-lint: disable-next-line(unsafe-typecast)
        if (paid != 0) s.paymentLeft -= uint128(paid);
        if (forfeited != 0) s_credits[s.purchaser] += forfeited;
    }

    /// @dev Credits back unspent payment to the purchaser and active oracles' deposits to them.
    function _endSla(uint256 slaId, Sla storage s) private {
        s.status = SlaStatus.Ended;
        uint256 refund = s.paymentLeft;
        s.paymentLeft = 0;
        if (refund != 0) s_credits[s.purchaser] += refund;
        uint256 deposit = s.terms.penaltyDeposit;
        uint256 active = s.activeMask;
        address[64] storage oracles = s_oracles[slaId];
        for (uint256 i = 0; active >> i != 0; ++i) {
            if ((active >> i) & 1 == 1) _returnDeposit(slaId, oracles[i], deposit);
        }
        emit SlaEnded(slaId, refund);
    }

    function _returnDeposit(uint256 slaId, address oracle, uint256 deposit) private {
        s_credits[oracle] += deposit;
        emit DepositReturned(slaId, oracle, deposit);
    }

    /// @dev Calls the aggregator with a gas cap; failure, a short return or no code gives ok = false.
    function _aggregate(address aggregator, int256[] memory answers)
        private
        view
        returns (bool ok, int256 answer, uint256 mask)
    {
        bytes memory data = abi.encodeCall(IAggregator.aggregate, (answers));
        uint256 gasLimit = AGGREGATOR_GAS_LIMIT;
        _requireGas(gasLimit);
        assembly ("memory-safe") {
            ok := staticcall(gasLimit, aggregator, add(data, 32), mload(data), 0, 64)
            if lt(returndatasize(), 64) { ok := 0 }
            answer := mload(0)
            mask := mload(32)
        }
    }

    /// @dev Calls `target` with a gas cap, ignoring any return data.
    function _callCapped(address target, uint256 gasLimit, bytes memory data) private returns (bool ok) {
        _requireGas(gasLimit);
        assembly ("memory-safe") {
            ok := call(gasLimit, target, 0, add(data, 32), mload(data), 0, 0)
        }
    }

    /// @dev Reverts unless a call can get `gasLimit` under the 63/64 rule: a caller cannot make a
    ///      capped call fail by sending too little gas.
    function _requireGas(uint256 gasLimit) private view {
        uint256 required = gasLimit + gasLimit / 63 + CALL_OVERHEAD;
        if (gasleft() < required) revert InsufficientGas(gasleft(), required);
    }

    function _commitPhaseOver(uint256 word) private view returns (bool) {
        // forge-lint: disable-next-line(block-timestamp)
        return word >> SHIFT_STATUS != STATUS_OPEN || block.timestamp > (word >> SHIFT_COMMIT_DEADLINE) & MASK40
            || (word >> SHIFT_COMMITS) & 0xff == _popcount(word & MASK64);
    }

    /// @dev keccak256(abi.encode(address(this), roundId, oracle, answer, salt)), hashed in scratch
    ///      memory past the free memory pointer without allocating (hot path of `reveal`).
    function _commitment(uint256 roundId, address oracle, int256 answer, bytes32 salt)
        private
        view
        returns (bytes32 hash)
    {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, address())
            mstore(add(p, 0x20), roundId)
            mstore(add(p, 0x40), and(oracle, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(p, 0x60), answer)
            mstore(add(p, 0x80), salt)
            hash := keccak256(p, 0xa0)
        }
    }

    /// @dev Number of set bits of a 64-bit value.
    function _popcount(uint256 x) private pure returns (uint256) {
        unchecked {
            x -= (x >> 1) & 0x5555555555555555;
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
            return ((x * 0x0101010101010101) & MASK64) >> 56;
        }
    }
}
