// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {SlaMarket} from "../../src/market/SlaMarket.sol";
import {SlaFeed} from "../../src/market/SlaFeed.sol";
import {IReputation} from "../../src/reputation/IReputation.sol";
import {Reputation} from "../../src/reputation/Reputation.sol";
import {TrimmedMeanAggregator} from "../../src/aggregation/TrimmedMeanAggregator.sol";

/// The real contracts together (market, reputation, trimmed-mean aggregator, feed) in the
/// scenario of issue 4: seven oracles of which three are honest, one lies far off, one lies
/// slightly off, one goes silent after committing and one copies another oracle's commitment.
contract SlaNetworkTest is Test {
    uint96 internal constant DEPOSIT = 5 ether;
    uint96 internal constant PAY = 0.5 ether;
    bytes32 internal constant JOB_TYPE = keccak256("price:ETH/USD");

    LinkToken internal link;
    SlaMarket internal market;
    Reputation internal reputation;
    TrimmedMeanAggregator internal trimmed;
    SlaFeed internal feed;
    address[] internal bidders;

    // Oracle roles by selection index (all bids score the newcomer 5,000, so bid order is rank).
    uint256 internal constant FAR_LIAR = 3;
    uint256 internal constant SLIGHT_LIAR = 4;
    uint256 internal constant SILENT = 5;
    uint256 internal constant FREELOADER = 6;

    function setUp() public {
        link = new LinkToken(address(this));
        market = new SlaMarket(address(link));
        reputation = new Reputation(address(this));
        reputation.setWriter(address(market), true);
        trimmed = new TrimmedMeanAggregator(1);
        feed = new SlaFeed(address(link), address(market), 8, "ETH / USD");
        link.transfer(address(feed), 100 ether);
        // Eight bidders for seven seats: the last one is not selected.
        for (uint256 i = 0; i < 8; ++i) {
            address oracle = makeAddr(string(abi.encodePacked("oracle", bytes1(uint8(48 + i)))));
            bidders.push(oracle);
            link.transfer(oracle, 100 ether);
        }
        vm.warp(1_700_000_000);
    }

    function _terms(uint8 n, uint8 minResponses) internal view returns (ISlaMarket.SlaTerms memory t) {
        t.specId = keccak256("eth-usd-sla");
        t.jobType = JOB_TYPE;
        t.params = hex"6470616972674554482f555344";
        t.oracles = n;
        t.minResponses = minResponses;
        t.minReputation = 1000;
        t.penaltyDeposit = DEPOSIT;
        t.paymentPerOracle = PAY;
        t.rounds = 1;
        t.biddingEnds = uint64(block.timestamp + 30);
        t.commitWindow = 20;
        t.revealWindow = 20;
        t.aggregator = address(trimmed);
        t.reputation = address(reputation);
    }

    function _bidAll(uint256 slaId, uint256 count) internal {
        for (uint256 i = 0; i < count; ++i) {
            vm.prank(bidders[i]);
            link.transferAndCall(address(market), DEPOSIT, abi.encodeCall(ISlaMarket.bid, (slaId)));
        }
    }

    function _salt(uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", i));
    }

    function test_sevenOracles_liarsSilentAndFreeloaderGainNothing() public {
        feed.open(_terms(7, 4));
        uint256 slaId = market.slaCount();
        _bidAll(slaId, 8);
        vm.warp(block.timestamp + 30);
        market.finalize(slaId);
        address[] memory oracles = market.oraclesOf(slaId);
        assertEq(oracles.length, 7, "seven selected");
        assertEq(market.withdrawable(bidders[7]), DEPOSIT, "unselected bidder refunded");
        uint256 roundId = market.latestRoundOf(slaId);

        int256[7] memory answers = [
            int256(300_000_000_000),
            int256(300_150_000_000),
            int256(299_925_000_000),
            int256(3_000_000_000_000), // far off
            int256(291_000_000_000), // slightly off (-3 %)
            int256(300_010_000_000), // silent after committing
            int256(0) // freeloader: never fetched anything
        ];
        for (uint256 i = 0; i < 6; ++i) {
            bytes32 c = market.commitmentOf(roundId, oracles[i], answers[i], _salt(i));
            vm.prank(oracles[i]);
            market.commit(roundId, i, c);
        }
        // The freeloader copies oracle 0's commitment from the mempool/chain.
        {
            bytes32 copied = market.commitmentOf(roundId, oracles[0], answers[0], _salt(0));
            vm.prank(oracles[FREELOADER]);
            market.commit(roundId, FREELOADER, copied);
        }
        assertTrue(market.roundOf(roundId).revealOpen, "all committed: reveals open");

        for (uint256 i = 0; i < 5; ++i) {
            vm.prank(oracles[i]);
            market.reveal(roundId, i, answers[i], _salt(i));
        }
        // Knowing oracle 0's revealed answer and salt does not help: the hash binds the oracle.
        vm.prank(oracles[FREELOADER]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitmentMismatch.selector, roundId, FREELOADER));
        market.reveal(roundId, FREELOADER, answers[0], _salt(0));
        // And committing the now-public answer is too late.
        vm.prank(bidders[7]);
        vm.expectRevert();
        market.commit(roundId, FREELOADER, bytes32(uint256(1)));

        vm.warp(block.timestamp + 21);
        market.closeRound(roundId);

        ISlaMarket.RoundView memory r = market.roundOf(roundId);
        assertEq(uint256(r.status), uint256(ISlaMarket.RoundStatus.Answered), "answered");
        assertTrue(r.answer >= answers[2] && r.answer <= answers[1], "answer within the honest range");
        (, int256 feedAnswer,,,) = feed.latestRoundData();
        assertEq(feedAnswer, r.answer, "delivered to the feed callback");

        // Money: honest paid + deposit back; liars deposit back, unpaid; silent and freeloader slashed.
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(market.withdrawable(oracles[i]), DEPOSIT + PAY, "honest: deposit + payment");
        }
        assertEq(market.withdrawable(oracles[FAR_LIAR]), DEPOSIT, "far liar: not accepted, not paid");
        assertEq(market.withdrawable(oracles[SLIGHT_LIAR]), DEPOSIT, "slight liar: not accepted, not paid");
        assertEq(market.withdrawable(oracles[SILENT]), 0, "silent: deposit forfeited");
        assertEq(market.withdrawable(oracles[FREELOADER]), 0, "freeloader: deposit forfeited, not paid");
        // Purchaser (the feed): two forfeited deposits + the four unspent payments.
        assertEq(market.withdrawable(address(feed)), 2 * DEPOSIT + 4 * PAY, "purchaser compensated and refunded");

        // Reputation: accepted honest > newcomer > liar > slashed.
        IReputation.Record memory honest = reputation.recordOf(oracles[0], JOB_TYPE);
        assertEq(honest.accepted, 1, "honest accepted");
        IReputation.Record memory liar = reputation.recordOf(oracles[FAR_LIAR], JOB_TYPE);
        assertEq(liar.completed, 1, "liar completed");
        assertEq(liar.accepted, 0, "liar not accepted");
        IReputation.Record memory silent = reputation.recordOf(oracles[SILENT], bytes32(0));
        assertEq(uint256(silent.penalties), DEPOSIT, "silent penalty recorded");
        uint256 newcomer = reputation.score(bidders[7], JOB_TYPE);
        assertGt(reputation.score(oracles[0], JOB_TYPE), newcomer, "honest above newcomer");
        assertLt(reputation.score(oracles[FAR_LIAR], JOB_TYPE), newcomer, "liar below newcomer");
        assertLt(
            reputation.score(oracles[SILENT], JOB_TYPE), reputation.score(oracles[FAR_LIAR], JOB_TYPE), "slashed lowest"
        );

        // The next SLA selects by that reputation: three seats, eight bidders -> the honest three.
        feed.open(_terms(3, 2));
        uint256 next = market.slaCount();
        // Bidders still hold enough LINK (their credits are withdrawable, not needed here).
        _bidAll(next, 8);
        vm.warp(block.timestamp + 30);
        market.finalize(next);
        address[] memory chosen = market.oraclesOf(next);
        assertEq(chosen.length, 3, "three selected");
        for (uint256 i = 0; i < 3; ++i) {
            assertTrue(chosen[i] == oracles[0] || chosen[i] == oracles[1] || chosen[i] == oracles[2], "honest chosen");
        }

        // Everything the market holds is accounted: withdrawals empty it exactly.
        for (uint256 i = 0; i < 8; ++i) {
            if (market.withdrawable(bidders[i]) != 0) {
                vm.prank(bidders[i]);
                market.withdraw();
            }
        }
        feed.withdraw();
        vm.prank(bidders[0]);
        vm.expectRevert(SlaMarket.NothingToWithdraw.selector);
        market.withdraw();
    }

    /// Rounds of a feed overlap: an older round that ends after a newer one must not move the
    /// feed back to the older value.
    function test_feed_ignoresOlderRoundEndingLate() public {
        ISlaMarket.SlaTerms memory t = _terms(3, 2);
        t.rounds = 5;
        t.revealWindow = 600;
        feed.open(t);
        uint256 slaId = market.slaCount();
        _bidAll(slaId, 3);
        vm.warp(block.timestamp + 30);
        market.finalize(slaId);
        address[] memory oracles = market.oraclesOf(slaId);
        uint256 r1 = market.latestRoundOf(slaId);
        for (uint256 i = 0; i < 3; ++i) {
            bytes32 c = market.commitmentOf(r1, oracles[i], 100, _salt(i));
            vm.prank(oracles[i]);
            market.commit(r1, i, c);
        }
        for (uint256 i = 0; i < 2; ++i) {
            vm.prank(oracles[i]);
            market.reveal(r1, i, 100, _salt(i));
        }
        // Oracle 2 holds its reveal of round 1 while round 2 runs and answers 200.
        vm.warp(block.timestamp + 10);
        vm.prank(oracles[0]);
        uint256 r2 = market.startRound(slaId);
        for (uint256 i = 0; i < 3; ++i) {
            bytes32 c = market.commitmentOf(r2, oracles[i], 200, _salt(10 + i));
            vm.prank(oracles[i]);
            market.commit(r2, i, c);
        }
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(oracles[i]);
            market.reveal(r2, i, 200, _salt(10 + i));
        }
        (uint80 id, int256 answer,,,) = feed.latestRoundData();
        assertEq(answer, 200, "feed shows round 2");
        vm.warp(block.timestamp + 300);
        vm.prank(oracles[2]);
        market.reveal(r1, 2, 100, _salt(2));
        assertEq(uint256(market.roundOf(r1).status), uint256(ISlaMarket.RoundStatus.Answered), "round 1 answered");
        (uint80 after_, int256 answerAfter,,,) = feed.latestRoundData();
        assertEq(answerAfter, 200, "feed keeps the newer answer");
        assertEq(uint256(after_), uint256(id), "no new feed round");
    }
}
