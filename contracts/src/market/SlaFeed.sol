// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC677} from "../token/IERC677.sol";
import {AggregatorV3Interface} from "../feeds/AggregatorV3Interface.sol";
import {ISlaMarket} from "./ISlaMarket.sol";
import {ISlaConsumer} from "./ISlaConsumer.sol";

/// @title SlaFeed: a price feed (AggregatorV3Interface) served by a recurring SLA of the SLA market.
/// @notice The owner funds the feed with LINK and calls `open(terms)`; the feed proposes the SLA as
///         its purchaser with itself as callback. Every answered round of the SLA becomes the next
///         feed round (ids 1, 2, 3, ...; `answeredInRound == roundId`). The owner may end the SLA
///         between rounds and withdraw what the market credited back (unspent payment, forfeited
///         deposits) together with any LINK the feed holds.
/// @dev Which SLA is ours: `propose` (reached through `transferAndCall`) returns nothing, and the
///      market interface has no "next SLA id" getter, so the feed does not try to predict the id.
///      Instead, the first answer of an SLA is accepted only after asking the market
///      (`slaOf(slaId)`) that this feed is the SLA's purchaser; the id is then remembered and later
///      answers cost one storage read. Anyone can name this feed as the callback of their own SLA,
///      but such answers are refused (`ForeignSla`): only SLAs paid for by this feed, i.e. opened
///      by its owner, can write to it. If the owner opens a second SLA before the first ended,
///      both feed the same sequence of rounds (the owner's choice).
///      Timestamps: `updatedAt` is the block timestamp of the answer; `startedAt` is the round's
///      start (`commitDeadline - commitWindow` from `ISlaMarket.roundOf`), or `updatedAt` if the
///      market cannot tell.
contract SlaFeed is AggregatorV3Interface, ISlaConsumer, Ownable {
    /// @notice Implementation version reported by `version()`.
    uint256 public constant VERSION = 1;

    /// @dev One feed round: two slots.
    struct FeedRound {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
    }

    /// @dev What the feed knows about an SLA it purchased (one slot).
    struct SlaInfo {
        bool own;
        uint32 commitWindow;
    }

    IERC677 private immutable i_link;
    ISlaMarket private immutable i_market;
    uint8 private immutable i_decimals;
    string private s_description;

    uint80 private s_latestRound;
    uint256 private s_latestMarketRound;
    uint256 private s_slaId;
    mapping(uint80 roundId => FeedRound) private s_rounds;
    mapping(uint256 slaId => SlaInfo) private s_slas;

    /// @notice The feed proposed an SLA, paying `payment` juels.
    /// @param payment `oracles * paymentPerOracle * rounds`.
    /// @param rounds The rounds paid for.
    event SlaOpened(uint256 payment, uint32 rounds);
    /// @notice The market confirmed that SLA `slaId` was purchased by this feed; its answers are accepted.
    event SlaRecognized(uint256 indexed slaId);
    /// @notice A new feed round was recorded.
    /// @param roundId The feed round.
    /// @param slaId The SLA that answered it.
    /// @param marketRoundId The market's round id.
    /// @param answer The answer.
    event FeedRoundAnswered(
        uint80 indexed roundId, uint256 indexed slaId, uint256 indexed marketRoundId, int256 answer
    );
    /// @notice An answer of an older market round arrived after a newer one (rounds of a feed may
    ///         overlap); it is not recorded, so the feed never goes back to an older value.
    event StaleAnswerIgnored(uint256 indexed slaId, uint256 indexed marketRoundId, int256 answer);
    /// @notice The owner ended SLA `slaId` at the market.
    event SlaEndRequested(uint256 indexed slaId);
    /// @notice LINK was sent to the owner.
    event LinkWithdrawn(address indexed recipient, uint256 amount);

    /// @notice A zero address was given for the LINK token or the market.
    error ZeroAddress();
    /// @notice The feed holds less LINK than the SLA's payment.
    error InsufficientLink(uint256 balance, uint256 required);
    /// @notice The terms ask for no oracles or no rounds.
    error InvalidTerms();
    /// @notice The LINK token refused a transfer.
    error LinkTransferFailed(address to, uint256 amount);
    /// @notice `onRoundAnswer` was called by someone other than the market.
    error OnlyMarket(address caller);
    /// @notice The answer belongs to an SLA this feed did not purchase.
    error ForeignSla(uint256 slaId);
    /// @notice The requested round has no data (no such round, or no round yet).
    error NoDataPresent(uint80 roundId);

    /// @param link_ The LINK token.
    /// @param market_ The SLA market.
    /// @param decimals_ Decimals of the answers (as the oracles' job spec scales them).
    /// @param description_ Description, e.g. "ETH / USD".
    constructor(address link_, address market_, uint8 decimals_, string memory description_) Ownable(msg.sender) {
        if (link_ == address(0) || market_ == address(0)) revert ZeroAddress();
        i_link = IERC677(link_);
        i_market = ISlaMarket(market_);
        i_decimals = decimals_;
        s_description = description_;
    }

    // ------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------

    /// @notice Proposes a recurring SLA that answers into this feed, paying
    ///         `oracles * paymentPerOracle * rounds` from the feed's LINK. `callback` and
    ///         `callbackSelector` of `terms` are overwritten with this feed and `onRoundAnswer`.
    ///         Only the owner.
    /// @param terms The SLA terms.
    function open(ISlaMarket.SlaTerms memory terms) external onlyOwner {
        if (terms.oracles == 0 || terms.rounds == 0) revert InvalidTerms();
        terms.callback = address(this);
        terms.callbackSelector = ISlaConsumer.onRoundAnswer.selector;
        uint256 payment = uint256(terms.oracles) * terms.paymentPerOracle * terms.rounds;
        uint256 balance = i_link.balanceOf(address(this));
        if (balance < payment) revert InsufficientLink(balance, payment);
        emit SlaOpened(payment, terms.rounds);
        if (!i_link.transferAndCall(address(i_market), payment, abi.encodeCall(ISlaMarket.propose, (terms)))) {
            revert LinkTransferFailed(address(i_market), payment);
        }
    }

    /// @notice Ends SLA `slaId` (between rounds) at the market; the market credits the unspent
    ///         payment and returns the oracles' deposits. Only the owner.
    /// @param slaId The SLA (from the market's `SlaProposed` event, or `currentSlaId()` once it answered).
    function endSla(uint256 slaId) external onlyOwner {
        emit SlaEndRequested(slaId);
        i_market.endSla(slaId);
    }

    /// @notice Pulls everything the market credited to the feed and sends all LINK the feed holds
    ///         to the owner. Only the owner.
    /// @return amount The LINK sent.
    function withdraw() external onlyOwner returns (uint256 amount) {
        if (i_market.withdrawable(address(this)) != 0) i_market.withdraw();
        amount = i_link.balanceOf(address(this));
        address to = owner();
        emit LinkWithdrawn(to, amount);
        if (!i_link.transfer(to, amount)) revert LinkTransferFailed(to, amount);
    }

    // ------------------------------------------------------------------------------------------
    // Market callback
    // ------------------------------------------------------------------------------------------

    /// @notice Records the answer of a market round as the next feed round. Only the market, only
    ///         for SLAs purchased by this feed (checked with the market on an SLA's first answer).
    /// @param slaId The SLA.
    /// @param marketRoundId The market's round id.
    /// @param answer The aggregate.
    function onRoundAnswer(uint256 slaId, uint256 marketRoundId, int256 answer) external {
        if (msg.sender != address(i_market)) revert OnlyMarket(msg.sender);
        SlaInfo memory info = s_slas[slaId];
        if (!info.own) info = _recognize(slaId);
        // Market round ids grow with start time; an older round finishing late must not
        // replace a newer answer with a fresh timestamp.
        if (marketRoundId <= s_latestMarketRound) {
            emit StaleAnswerIgnored(slaId, marketRoundId, answer);
            return;
        }
        s_latestMarketRound = marketRoundId;
        // casting is safe: timestamps fit in 64 bits for billions of years
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 now_ = uint64(block.timestamp);
        uint64 startedAt = now_;
        try i_market.roundOf(marketRoundId) returns (ISlaMarket.RoundView memory r) {
            if (r.slaId == slaId && r.commitDeadline >= info.commitWindow) {
                uint64 start = r.commitDeadline - info.commitWindow;
                if (start < startedAt) startedAt = start;
            }
        } catch {}
        uint80 roundId = s_latestRound + 1;
        s_latestRound = roundId;
        s_rounds[roundId] = FeedRound({answer: answer, startedAt: startedAt, updatedAt: now_});
        emit FeedRoundAnswered(roundId, slaId, marketRoundId, answer);
    }

    // ------------------------------------------------------------------------------------------
    // AggregatorV3Interface
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return i_decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return s_description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return VERSION;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return _roundData(_roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return _roundData(s_latestRound);
    }

    // ------------------------------------------------------------------------------------------
    // Other views
    // ------------------------------------------------------------------------------------------

    /// @notice The LINK token.
    function link() external view returns (address) {
        return address(i_link);
    }

    /// @notice The SLA market.
    function market() external view returns (address) {
        return address(i_market);
    }

    /// @notice The most recently recognized SLA of this feed (0 before its first answer).
    function currentSlaId() external view returns (uint256) {
        return s_slaId;
    }

    /// @notice Whether the market confirmed `id` as an SLA purchased by this feed.
    function isOwnSla(uint256 id) external view returns (bool) {
        return s_slas[id].own;
    }

    /// @notice The latest feed round (0 before the first answer).
    function latestRound() external view returns (uint80) {
        return s_latestRound;
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _recognize(uint256 id) private returns (SlaInfo memory info) {
        (ISlaMarket.SlaTerms memory terms,, address purchaser) = i_market.slaOf(id);
        if (purchaser != address(this)) revert ForeignSla(id);
        info = SlaInfo({own: true, commitWindow: terms.commitWindow});
        s_slas[id] = info;
        s_slaId = id;
        emit SlaRecognized(id);
    }

    function _roundData(uint80 id) private view returns (uint80, int256, uint256, uint256, uint80) {
        FeedRound memory r = s_rounds[id];
        if (r.updatedAt == 0) revert NoDataPresent(id);
        return (id, r.answer, r.startedAt, r.updatedAt, id);
    }
}
