// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {ISlaConsumer} from "../../src/market/ISlaConsumer.sol";
import {SlaMarket} from "../../src/market/SlaMarket.sol";
import {MockAggregator, MockReputation, MockConsumer} from "./mocks/MarketMocks.sol";

/// @dev Drives the market with random proposals, bids, finalizations, commits, reveals, closes,
///      feed rounds, early ends, withdrawals and time, and keeps ghost books of payouts.
contract SlaMarketHandler is Test {
    LinkToken public immutable link;
    SlaMarket public immutable market;
    MockAggregator public immutable aggregator;
    MockReputation public immutable reputation;
    MockConsumer public immutable consumer;

    address[] internal s_actors;
    uint256[] internal s_slas;
    uint256[] internal s_rounds;
    mapping(uint256 roundId => mapping(uint256 index => int256)) internal s_answers;
    mapping(uint256 roundId => mapping(address oracle => uint256)) public paidCount;
    mapping(uint256 roundId => uint256) public paidInRound;

    uint256 public doublePayments;
    uint256 public overpaidRounds;
    uint256 public totalWithdrawn;
    uint256 public calls;

    constructor(LinkToken link_, SlaMarket market_) {
        link = link_;
        market = market_;
        aggregator = new MockAggregator();
        reputation = new MockReputation();
        consumer = new MockConsumer();
        for (uint256 i = 0; i < 8; ++i) {
            address actor = address(uint160(0xA000 + i));
            s_actors.push(actor);
        }
    }

    function fund() external {
        for (uint256 i = 0; i < s_actors.length; ++i) {
            link.transfer(s_actors[i], 100_000 ether);
        }
    }

    function actorCount() external view returns (uint256) {
        return s_actors.length;
    }

    function actorAt(uint256 i) external view returns (address) {
        return s_actors[i];
    }

    function slaCount() external view returns (uint256) {
        return s_slas.length;
    }

    function slaAt(uint256 i) external view returns (uint256) {
        return s_slas[i];
    }

    function roundCount() external view returns (uint256) {
        return s_rounds.length;
    }

    function roundAt(uint256 i) external view returns (uint256) {
        return s_rounds[i];
    }

    function _actor(uint256 seed) internal view returns (address) {
        return s_actors[seed % s_actors.length];
    }

    /// @dev Mostly one of the three newest SLAs / rounds, so that sequences make progress.
    function _sla(uint256 seed) internal view returns (uint256) {
        uint256 len = s_slas.length;
        if (len == 0) return 0;
        uint256 back = seed % (len < 3 ? len : 3);
        return (seed >> 8) % 4 == 0 ? s_slas[(seed >> 16) % len] : s_slas[len - 1 - back];
    }

    function _roundOf(uint256 seed) internal view returns (uint256) {
        uint256 len = s_rounds.length;
        if (len == 0) return 0;
        uint256 back = seed % (len < 3 ? len : 3);
        return (seed >> 8) % 4 == 0 ? s_rounds[(seed >> 16) % len] : s_rounds[len - 1 - back];
    }

    function _salt(uint256 roundId, uint256 index) internal pure returns (bytes32) {
        return keccak256(abi.encode(roundId, index));
    }

    /// @dev Counts OraclePaid logs of the last action per (round, oracle); tracks new rounds.
    function _scan() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(market)) continue;
            bytes32 sig = logs[i].topics[0];
            if (sig == ISlaMarket.OraclePaid.selector) {
                uint256 roundId = uint256(logs[i].topics[1]);
                address oracle = address(uint160(uint256(logs[i].topics[2])));
                if (++paidCount[roundId][oracle] > 1) ++doublePayments;
                ++paidInRound[roundId];
            } else if (sig == ISlaMarket.RoundStarted.selector) {
                s_rounds.push(uint256(logs[i].topics[2]));
            }
        }
    }

    function propose(uint256 seed, uint256 pay, uint256 deposit, uint256 shape) external {
        calls++;
        ISlaMarket.SlaTerms memory t;
        t.jobType = keccak256("job");
        t.oracles = uint8(bound(shape, 1, 4));
        t.minResponses = uint8(bound(shape >> 8, 1, t.oracles));
        t.rounds = uint32(bound(shape >> 16, 1, 3));
        t.heartbeat = (shape >> 24) & 1 == 1 ? 100 : 0;
        t.paymentPerOracle = uint96(bound(pay, 0, 10 ether));
        t.penaltyDeposit = uint96(bound(deposit, 0, 10 ether));
        t.biddingEnds = uint64(block.timestamp + 50);
        t.commitWindow = 40;
        t.revealWindow = 40;
        t.aggregator = address(aggregator);
        t.reputation = address(reputation);
        t.callback = address(consumer);
        t.callbackSelector = ISlaConsumer.onRoundAnswer.selector;
        address purchaser = _actor(seed);
        uint256 price = uint256(t.oracles) * t.paymentPerOracle * t.rounds;
        vm.prank(purchaser);
        link.transferAndCall(address(market), price, abi.encodeCall(ISlaMarket.propose, (t)));
        s_slas.push(market.slaCount());
    }

    function bid(uint256 slaSeed, uint256 actorSeed, uint256 count) external {
        calls++;
        uint256 slaId = _sla(slaSeed);
        (ISlaMarket.SlaTerms memory t,,) = market.slaOf(slaId);
        count = bound(count, 1, 5);
        for (uint256 i = 0; i < count; ++i) {
            address oracle = _actor(actorSeed + i);
            vm.prank(oracle);
            try link.transferAndCall(address(market), t.penaltyDeposit, abi.encodeCall(ISlaMarket.bid, (slaId))) {}
                catch {}
        }
    }

    function finalize(uint256 slaSeed, bool wait) external {
        calls++;
        uint256 slaId = _sla(slaSeed);
        (ISlaMarket.SlaTerms memory t,,) = market.slaOf(slaId);
        if (wait && block.timestamp < t.biddingEnds) vm.warp(t.biddingEnds);
        vm.recordLogs();
        try market.finalize(slaId) {} catch {}
        _scan();
    }

    /// @dev Every oracle of a round not in `skipMask` commits (some may fail: not assigned, late).
    function commit(uint256 roundSeed, uint256 skipMask, int256 answer) external {
        calls++;
        uint256 roundId = _roundOf(roundSeed);
        address[] memory oracles = market.oraclesOf(market.roundOf(roundId).slaId);
        skipMask = skipMask % 4 == 0 ? skipMask : 0;
        for (uint256 index = 0; index < oracles.length; ++index) {
            if ((skipMask >> (index + 2)) & 1 == 1) continue;
            int256 a = int256(int128(answer)) + int256(index);
            s_answers[roundId][index] = a;
            bytes32 c = market.commitmentOf(roundId, oracles[index], a, _salt(roundId, index));
            vm.prank(oracles[index]);
            try market.commit(roundId, index, c) {} catch {}
        }
    }

    /// @dev Every oracle of a round not in `skipMask` reveals; a few reveal a wrong answer.
    function reveal(uint256 roundSeed, uint256 skipMask, bool wrong) external {
        calls++;
        uint256 roundId = _roundOf(roundSeed);
        address[] memory oracles = market.oraclesOf(market.roundOf(roundId).slaId);
        skipMask = skipMask % 4 == 0 ? skipMask : 0;
        vm.recordLogs();
        for (uint256 index = 0; index < oracles.length; ++index) {
            if ((skipMask >> (index + 2)) & 1 == 1) continue;
            int256 a = s_answers[roundId][index] + (wrong && index == 0 ? int256(1) : int256(0));
            vm.prank(oracles[index]);
            try market.reveal(roundId, index, a, _salt(roundId, index)) {} catch {}
        }
        _scan();
    }

    function closeRound(uint256 roundSeed) external {
        calls++;
        vm.recordLogs();
        try market.closeRound(_roundOf(roundSeed)) {} catch {}
        _scan();
    }

    function startRound(uint256 slaSeed, uint256 callerSeed) external {
        calls++;
        uint256 slaId = _sla(slaSeed);
        address[] memory oracles = market.oraclesOf(slaId);
        address caller = oracles.length > 0 && callerSeed % 2 == 0
            ? oracles[(callerSeed >> 1) % oracles.length]
            : _actor(callerSeed);
        vm.recordLogs();
        vm.prank(caller);
        try market.startRound(slaId) {} catch {}
        _scan();
    }

    function endSla(uint256 slaSeed) external {
        calls++;
        uint256 slaId = _sla(slaSeed);
        vm.prank(market.purchaserOf(slaId));
        try market.endSla(slaId) {} catch {}
    }

    function withdraw(uint256 actorSeed) external {
        calls++;
        address actor = _actor(actorSeed);
        uint256 amount = market.withdrawable(actor);
        vm.prank(actor);
        try market.withdraw() {
            totalWithdrawn += amount;
        } catch {}
    }

    function warp(uint256 seconds_) external {
        calls++;
        vm.warp(block.timestamp + bound(seconds_, 0, 60));
    }

    function setAggregatorReverts(bool value) external {
        calls++;
        aggregator.setRevert(value);
    }
}

contract SlaMarketInvariantTest is Test {
    LinkToken internal link;
    SlaMarket internal market;
    SlaMarketHandler internal handler;

    function setUp() public {
        link = new LinkToken(address(this));
        market = new SlaMarket(address(link));
        handler = new SlaMarketHandler(link, market);
        link.transfer(address(handler), 1_000_000 ether);
        vm.prank(address(handler));
        handler.fund();
        vm.warp(1_000_000);

        bytes4[] memory selectors = new bytes4[](12);
        // bid and commit twice: order matching needs several of them to get anywhere.
        selectors[0] = SlaMarketHandler.propose.selector;
        selectors[1] = SlaMarketHandler.bid.selector;
        selectors[2] = SlaMarketHandler.commit.selector;
        selectors[3] = SlaMarketHandler.finalize.selector;
        selectors[4] = SlaMarketHandler.commit.selector;
        selectors[5] = SlaMarketHandler.reveal.selector;
        selectors[6] = SlaMarketHandler.closeRound.selector;
        selectors[7] = SlaMarketHandler.startRound.selector;
        selectors[8] = SlaMarketHandler.endSla.selector;
        selectors[9] = SlaMarketHandler.withdraw.selector;
        selectors[10] = SlaMarketHandler.warp.selector;
        selectors[11] = SlaMarketHandler.setAggregatorReverts.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// LINK held by the market = locked deposits + escrowed payments + credited balances.
    function invariant_balanceIsEscrowPlusCredits() public view {
        uint256 sum;
        for (uint256 i = 0; i < handler.slaCount(); ++i) {
            (uint256 payment, uint256 deposits,,,) = market.escrowOf(handler.slaAt(i));
            sum += payment + deposits;
        }
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            sum += market.withdrawable(handler.actorAt(i));
        }
        assertEq(link.balanceOf(address(market)), sum, "balance = escrow + credits");
    }

    /// No oracle is paid twice for a round, and no round pays more oracles than it has.
    function invariant_noDoublePayment() public view {
        assertEq(handler.doublePayments(), 0, "paid twice");
        for (uint256 i = 0; i < handler.roundCount(); ++i) {
            uint256 roundId = handler.roundAt(i);
            (ISlaMarket.SlaTerms memory t,,) = market.slaOf(market.roundOf(roundId).slaId);
            assertLe(handler.paidInRound(roundId), t.oracles, "at most n payments");
        }
    }

    /// A finalized SLA has exactly n distinct selected oracles.
    function invariant_finalizedHasNOracles() public view {
        for (uint256 i = 0; i < handler.slaCount(); ++i) {
            uint256 slaId = handler.slaAt(i);
            (ISlaMarket.SlaTerms memory t, ISlaMarket.SlaStatus status,) = market.slaOf(slaId);
            address[] memory oracles = market.oraclesOf(slaId);
            if (status == ISlaMarket.SlaStatus.Active || status == ISlaMarket.SlaStatus.Ended) {
                assertEq(oracles.length, t.oracles, "n oracles");
                for (uint256 a = 0; a < oracles.length; ++a) {
                    assertTrue(market.isSelected(slaId, oracles[a]), "selected");
                    for (uint256 b = a + 1; b < oracles.length; ++b) {
                        assertTrue(oracles[a] != oracles[b], "distinct");
                    }
                }
            } else {
                assertEq(oracles.length, 0, "none before finalization");
            }
        }
    }

    /// No LINK is created or lost.
    function invariant_supplyConserved() public view {
        uint256 sum = link.balanceOf(address(this)) + link.balanceOf(address(handler)) + link.balanceOf(address(market));
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            sum += link.balanceOf(handler.actorAt(i));
        }
        assertEq(sum, link.totalSupply(), "supply");
    }

    /// Withdrawals never exceed what was credited: the market never pays out more than it holds.
    function invariant_withdrawnBounded() public view {
        assertLe(handler.totalWithdrawn(), 9 * 100_000 ether, "withdrawn <= funded");
    }
}
