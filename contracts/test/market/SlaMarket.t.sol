// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {SlaFixture} from "./SlaFixture.sol";
import {Vm} from "../utils/Vm.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {SlaMarket} from "../../src/market/SlaMarket.sol";
import {IReputation} from "../../src/reputation/IReputation.sol";
import {MockReputation, ShortReturnAggregator} from "./mocks/MarketMocks.sol";

/// @dev Proposal validation, bidding rules, selection and cancellation.
contract SlaMarketOrderTest is SlaFixture {
    function _expectProposeRevert(ISlaMarket.SlaTerms memory t, uint256 value, bytes memory err) internal {
        vm.prank(purchaser);
        vm.expectRevert(err);
        link.transferAndCall(address(market), value, abi.encodeCall(ISlaMarket.propose, (t)));
    }

    function test_propose_storesTermsAndEscrowsPayment() public {
        ISlaMarket.SlaTerms memory t = _terms(4);
        t.rounds = 3;
        vm.expectEmit(address(market));
        emit ISlaMarket.SlaProposed(1, purchaser, SPEC_ID, t);
        uint256 slaId = _propose(t);
        assertEq(slaId, 1, "first id");
        (ISlaMarket.SlaTerms memory stored, ISlaMarket.SlaStatus status, address who) = market.slaOf(slaId);
        assertEq(abi.encode(stored), abi.encode(t), "terms stored");
        assertTrue(status == ISlaMarket.SlaStatus.Bidding, "bidding");
        assertEq(who, purchaser, "purchaser");
        assertEq(market.purchaserOf(slaId), purchaser, "directory purchaser");
        assertEq(link.balanceOf(address(market)), 4 * uint256(PAY) * 3, "payment held");
        (uint256 payment, uint256 deposits,,,) = market.escrowOf(slaId);
        assertEq(payment, 4 * uint256(PAY) * 3, "payment escrow");
        assertEq(deposits, 0, "no deposits");
        assertEq(market.oraclesOf(slaId).length, 0, "no oracles yet");
        assertEq(market.linkToken(), address(link), "link");
    }

    function test_propose_andBid_onlyThroughTransferAndCall() public {
        ISlaMarket.SlaTerms memory t = _terms(4);
        vm.expectRevert(SlaMarket.OnlyViaTransferAndCall.selector);
        market.propose(t);
        vm.expectRevert(SlaMarket.OnlyViaTransferAndCall.selector);
        market.bid(1);
    }

    function test_onTokenTransfer_onlyLink() public {
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.OnlyLinkToken.selector, address(this)));
        market.onTokenTransfer(address(this), 1, abi.encodeCall(ISlaMarket.bid, (1)));
    }

    function test_onTokenTransfer_rejectsOtherPayloads() public {
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.UnsupportedPayload.selector, bytes4(0)));
        link.transferAndCall(address(market), 1, hex"0102");
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.UnsupportedPayload.selector, bytes4(0xdeadbeef)));
        link.transferAndCall(address(market), 1, hex"deadbeef");
    }

    function test_propose_validation() public {
        ISlaMarket.SlaTerms memory t = _terms(4);
        t.oracles = 0;
        _expectProposeRevert(t, 0, abi.encodeWithSelector(SlaMarket.InvalidOracleCount.selector, 0));
        t.oracles = 65;
        t.minResponses = 1;
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidOracleCount.selector, 65));

        t = _terms(4);
        t.minResponses = 0;
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidMinResponses.selector, 0));
        t.minResponses = 5;
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidMinResponses.selector, 5));

        t = _terms(4);
        t.rounds = 0;
        _expectProposeRevert(t, 0, abi.encodeWithSelector(SlaMarket.InvalidRounds.selector));

        t = _terms(4);
        t.biddingEnds = uint64(block.timestamp);
        _expectProposeRevert(
            t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidBiddingEnd.selector, block.timestamp)
        );

        t = _terms(4);
        t.commitWindow = 0;
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidWindow.selector, 0, 60));
        t.commitWindow = 60;
        t.revealWindow = 0;
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidWindow.selector, 60, 0));
        t.revealWindow = uint32(market.MAX_WINDOW() + 1);
        _expectProposeRevert(
            t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidWindow.selector, 60, market.MAX_WINDOW() + 1)
        );
        t.revealWindow = 60;
        t.commitWindow = uint32(market.MAX_WINDOW() + 1);
        _expectProposeRevert(
            t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidWindow.selector, market.MAX_WINDOW() + 1, 60)
        );

        t = _terms(4);
        t.aggregator = address(0xA11CE);
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.NotAContract.selector, address(0xA11CE)));
        t = _terms(4);
        t.reputation = address(0xB0B);
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.NotAContract.selector, address(0xB0B)));

        t = _terms(4);
        t.callback = address(link);
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidCallback.selector, address(link)));
        t.callback = address(market);
        _expectProposeRevert(t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidCallback.selector, address(market)));
        t.callback = address(reputation);
        _expectProposeRevert(
            t, _price(t), abi.encodeWithSelector(SlaMarket.InvalidCallback.selector, address(reputation))
        );

        t = _terms(4);
        _expectProposeRevert(
            t, _price(t) - 1, abi.encodeWithSelector(SlaMarket.WrongPayment.selector, _price(t), _price(t) - 1)
        );
        _expectProposeRevert(
            t, _price(t) + 1, abi.encodeWithSelector(SlaMarket.WrongPayment.selector, _price(t), _price(t) + 1)
        );
        assertEq(market.slaCount(), 0, "nothing proposed");
    }

    function test_propose_acceptsNoCallbackAndMaxOracles() public {
        ISlaMarket.SlaTerms memory t = _terms(64);
        t.callback = address(0);
        t.minResponses = 64;
        uint256 slaId = _propose(t);
        assertEq(slaId, 1, "proposed");
    }

    function test_bid_acceptedWithScore() public {
        uint256 slaId = _propose(_terms(2));
        reputation.setScore(nodes[0], 7777);
        vm.prank(nodes[0]);
        vm.expectEmit(address(market));
        emit ISlaMarket.BidPlaced(slaId, nodes[0], 7777);
        link.transferAndCall(address(market), DEPOSIT, abi.encodeCall(ISlaMarket.bid, (slaId)));
        assertEq(market.bidCountOf(slaId), 1, "one bid");
        assertFalse(market.isSelected(slaId, nodes[0]), "not selected yet");
        (, uint256 deposits,,,) = market.escrowOf(slaId);
        assertEq(deposits, DEPOSIT, "deposit escrowed");
        assertEq(link.balanceOf(address(market)), 2 * uint256(PAY) + DEPOSIT, "held");
    }

    function test_bid_rules() public {
        uint256 slaId = _propose(_terms(2));
        bytes memory bidCall = abi.encodeCall(ISlaMarket.bid, (slaId));

        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.SlaNotBidding.selector, 99));
        link.transferAndCall(address(market), DEPOSIT, abi.encodeCall(ISlaMarket.bid, (99)));

        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.WrongDeposit.selector, DEPOSIT, DEPOSIT - 1));
        link.transferAndCall(address(market), DEPOSIT - 1, bidCall);

        vm.prank(purchaser);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.PurchaserCannotBid.selector, slaId));
        link.transferAndCall(address(market), DEPOSIT, bidCall);

        reputation.setScore(nodes[1], 999);
        vm.prank(nodes[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.ReputationTooLow.selector, 999, 1000));
        link.transferAndCall(address(market), DEPOSIT, bidCall);

        _bid(slaId, nodes[0]);
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.AlreadyBid.selector, slaId, nodes[0]));
        link.transferAndCall(address(market), DEPOSIT, bidCall);

        vm.warp(block.timestamp + BIDDING);
        vm.prank(nodes[2]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.BiddingClosed.selector, slaId));
        link.transferAndCall(address(market), DEPOSIT, bidCall);
    }

    function test_bid_cappedAtMaxBids() public {
        uint256 slaId = _propose(_terms(2));
        for (uint256 i = 0; i < 128; ++i) {
            _bid(slaId, nodes[i]);
        }
        vm.prank(nodes[128]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.TooManyBids.selector, slaId));
        link.transferAndCall(address(market), DEPOSIT, abi.encodeCall(ISlaMarket.bid, (slaId)));
        vm.warp(block.timestamp + BIDDING);
        market.finalize(slaId);
        assertEq(market.oraclesOf(slaId).length, 2, "two selected");
    }

    function test_bid_fullListEvictsNewestLowestForHigherScore() public {
        uint256 slaId = _propose(_terms(3));
        // 128 bids: all score 5,000 except nodes[5] (4,000) and nodes[9] (4,000, later).
        for (uint256 i = 0; i < 128; ++i) {
            if (i == 5 || i == 9) reputation.setScore(nodes[i], 4000);
            _bid(slaId, nodes[i]);
        }
        // An equal score cannot evict anyone.
        reputation.setScore(nodes[128], 4000);
        vm.prank(nodes[128]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.TooManyBids.selector, slaId));
        link.transferAndCall(address(market), DEPOSIT, abi.encodeCall(ISlaMarket.bid, (slaId)));
        // A higher score evicts the newest of the lowest (nodes[9]), which gets its deposit back.
        reputation.setScore(nodes[139], 10_000);
        vm.expectEmit(address(market));
        emit ISlaMarket.DepositReturned(slaId, nodes[9], DEPOSIT);
        _bid(slaId, nodes[139]);
        assertEq(market.bidCountOf(slaId), 128, "still full");
        assertEq(market.withdrawable(nodes[9]), DEPOSIT, "evicted bidder refunded");
        assertFalse(market.isSelected(slaId, nodes[9]), "evicted");
        (, uint256 deposits,,,) = market.escrowOf(slaId);
        assertEq(deposits, 128 * uint256(DEPOSIT), "escrow follows the bid list");
        // The next eviction takes nodes[5]; then the evicted may bid again only if it now scores higher.
        reputation.setScore(nodes[138], 6000);
        _bid(slaId, nodes[138]);
        assertEq(market.withdrawable(nodes[5]), DEPOSIT, "second eviction");
        vm.warp(block.timestamp + BIDDING);
        market.finalize(slaId);
        address[] memory chosen = market.oraclesOf(slaId);
        assertEq(chosen[0], nodes[139], "best score first");
        assertEq(chosen[1], nodes[138], "second best");
        assertEq(chosen[2], nodes[0], "ties by bid time: order kept across evictions");
    }

    function test_finalize_selectsBestScoresTiesByBidTime() public {
        ISlaMarket.SlaTerms memory t = _terms(3);
        uint256 slaId = _propose(t);
        uint256[6] memory scores = [uint256(3000), 9000, 5000, 9000, 5000, 1000];
        for (uint256 i = 0; i < 6; ++i) {
            reputation.setScore(nodes[i], scores[i]);
            _bid(slaId, nodes[i]);
        }
        // Scores read later do not matter: bids are scored at bid time.
        reputation.setScore(nodes[5], 10_000);
        vm.warp(t.biddingEnds);

        address[] memory expected = new address[](3);
        expected[0] = nodes[1];
        expected[1] = nodes[3];
        expected[2] = nodes[2];
        vm.recordLogs();
        vm.expectEmit(address(market));
        emit ISlaMarket.SlaFinalized(slaId, expected);
        market.finalize(slaId);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        address[] memory selected = market.oraclesOf(slaId);
        assertEq(abi.encode(selected), abi.encode(expected), "top 3, earlier bid wins the tie");
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Active, "active");
        assertTrue(market.isSelected(slaId, nodes[1]), "selected");
        assertFalse(market.isSelected(slaId, nodes[4]), "tie lost to the earlier bid");
        assertEq(_countLogs(logs, ISlaMarket.DepositReturned.selector), 3, "three deposits returned");
        assertEq(market.withdrawable(nodes[0]), DEPOSIT, "loser refunded");
        assertEq(market.withdrawable(nodes[4]), DEPOSIT, "loser refunded");
        assertEq(market.withdrawable(nodes[5]), DEPOSIT, "loser refunded");
        assertEq(market.withdrawable(nodes[1]), 0, "winner locked");
        (, uint256 deposits, uint256 mask,,) = market.escrowOf(slaId);
        assertEq(deposits, 3 * uint256(DEPOSIT), "three deposits locked");
        assertEq(mask, 7, "all active");

        uint256 roundId = market.latestRoundOf(slaId);
        assertEq(roundId, 1, "round 1 started");
        ISlaMarket.RoundView memory r = _round(roundId);
        assertEq(r.slaId, slaId, "round sla");
        assertTrue(r.status == ISlaMarket.RoundStatus.Open, "open");
        assertEq(r.commitDeadline, block.timestamp + COMMIT_WINDOW, "commit deadline");
        assertEq(r.revealDeadline, block.timestamp + COMMIT_WINDOW + REVEAL_WINDOW, "reveal deadline");
        assertEq(r.startBlock, block.number, "start block");
        assertFalse(r.revealOpen, "reveal closed");

        vm.prank(nodes[0]);
        market.withdraw();
        assertEq(link.balanceOf(nodes[0]), 1000 ether, "deposit back");
    }

    function test_finalize_rules() public {
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.SlaNotBidding.selector, 1));
        market.finalize(1);
        uint256 slaId = _propose(_terms(1));
        _bid(slaId, nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.BiddingNotOver.selector, slaId));
        market.finalize(slaId);
        vm.warp(block.timestamp + BIDDING);
        market.finalize(slaId);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.SlaNotBidding.selector, slaId));
        market.finalize(slaId);
        vm.prank(nodes[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.SlaNotBidding.selector, slaId));
        link.transferAndCall(address(market), DEPOSIT, abi.encodeCall(ISlaMarket.bid, (slaId)));
    }

    function test_finalize_cancelsWithTooFewBids() public {
        ISlaMarket.SlaTerms memory t = _terms(4);
        t.rounds = 2;
        uint256 slaId = _propose(t);
        for (uint256 i = 0; i < 3; ++i) {
            _bid(slaId, nodes[i]);
        }
        vm.warp(t.biddingEnds);
        vm.expectEmit(address(market));
        emit ISlaMarket.SlaCancelled(slaId, 3);
        market.finalize(slaId);
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Cancelled, "cancelled");
        assertEq(market.withdrawable(purchaser), _price(t), "payment refunded");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(market.withdrawable(nodes[i]), DEPOSIT, "deposit refunded");
            assertFalse(market.isSelected(slaId, nodes[i]), "none selected");
        }
        assertEq(market.oraclesOf(slaId).length, 0, "no oracles");
        assertEq(market.latestRoundOf(slaId), 0, "no round");
        (uint256 payment, uint256 deposits,,,) = market.escrowOf(slaId);
        assertEq(payment + deposits, 0, "nothing escrowed");

        uint256 before = link.balanceOf(purchaser);
        vm.prank(purchaser);
        market.withdraw();
        assertEq(link.balanceOf(purchaser) - before, _price(t), "withdrawn");
        vm.prank(purchaser);
        vm.expectRevert(SlaMarket.NothingToWithdraw.selector);
        market.withdraw();
    }

    function test_finalize_cancelsWithNoBids() public {
        uint256 slaId = _propose(_terms(1));
        vm.warp(block.timestamp + BIDDING);
        market.finalize(slaId);
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Cancelled, "cancelled");
        assertEq(market.withdrawable(purchaser), PAY, "refund");
    }

    function test_bid_scoreFromTheSlasReputationContract() public {
        ISlaMarket.SlaTerms memory t = _terms(1);
        MockReputation broken = new MockReputation();
        t.reputation = address(broken);
        uint256 slaId = _propose(t);
        broken.setScore(nodes[0], 0);
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.ReputationTooLow.selector, 0, 1000));
        link.transferAndCall(address(market), DEPOSIT, abi.encodeCall(ISlaMarket.bid, (slaId)));
    }
}

/// @dev Commit, reveal, close, payments, slashing, reputation and callbacks.
contract SlaMarketRoundTest is SlaFixture {
    function test_round_happyPath() public {
        (uint256 slaId, uint256 roundId) = _activeSla(5);
        int256[] memory a = new int256[](5);
        a[0] = 2000e8;
        a[1] = 2001e8;
        a[2] = 1999e8;
        a[3] = 2002e8;
        a[4] = 1998e8;
        vmm.roll(block.number + 3);
        for (uint256 i = 0; i < 4; ++i) {
            _commit(slaId, roundId, i, a[i]);
        }
        assertFalse(_round(roundId).revealOpen, "not all committed");
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RevealNotOpen.selector, roundId));
        _reveal(slaId, roundId, 0, a[0]);

        vm.warp(block.timestamp + 10);
        vm.expectEmit(address(market));
        emit ISlaMarket.RevealOpened(roundId, uint64(block.timestamp + REVEAL_WINDOW));
        _commit(slaId, roundId, 4, a[4]);
        ISlaMarket.RoundView memory r = _round(roundId);
        assertTrue(r.revealOpen, "reveal open");
        assertEq(r.commits, 5, "five commits");
        assertEq(r.revealDeadline, block.timestamp + REVEAL_WINDOW, "reveal deadline moved");

        for (uint256 i = 0; i < 4; ++i) {
            _reveal(slaId, roundId, i, a[i]);
        }
        vm.expectEmit(address(market));
        emit ISlaMarket.RoundAnswered(slaId, roundId, 2000e8, 31);
        _reveal(slaId, roundId, 4, a[4]);

        r = _round(roundId);
        assertTrue(r.status == ISlaMarket.RoundStatus.Answered, "answered");
        assertEq(r.answer, 2000e8, "median");
        assertEq(r.reveals, 5, "reveals");
        assertFalse(r.revealOpen, "closed");
        assertEq(consumer.calls(), 1, "callback");
        assertEq(consumer.lastAnswer(), 2000e8, "callback answer");
        assertEq(consumer.lastSlaId(), slaId, "callback sla");
        assertEq(consumer.lastRoundId(), roundId, "callback round");

        // One-shot SLA: ended, deposits back, every payment spent.
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Ended, "ended");
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(market.withdrawable(nodes[i]), uint256(DEPOSIT) + PAY, "pay + deposit");
        }
        assertEq(market.withdrawable(purchaser), 0, "no refund");

        assertEq(reputation.callCount(), 1, "recorded once");
        MockReputation.Call memory c = reputation.callAt(0);
        assertEq(c.jobType, JOB_TYPE, "job type");
        assertEq(c.roundId, roundId, "round");
        assertEq(c.oracles.length, 5, "oracles");
        assertEq(c.completedMask, 31, "completed");
        assertEq(c.acceptedMask, 31, "accepted");
        assertEq(c.penalizedMask, 0, "penalized");
        assertEq(c.penalty, DEPOSIT, "penalty");
        assertEq(c.responseBlocks[0], 3, "response blocks");

        for (uint256 i = 0; i < 5; ++i) {
            vm.prank(nodes[i]);
            market.withdraw();
        }
        assertEq(link.balanceOf(address(market)), 0, "market empty");
    }

    function test_commit_errors() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        address[] memory o = market.oraclesOf(slaId);
        bytes32 c = market.commitmentOf(roundId, o[0], 1, bytes32(0));

        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotOpen.selector, roundId + 1));
        market.commit(roundId + 1, 0, c);

        vm.prank(o[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotRoundOracle.selector, roundId, 0, o[1]));
        market.commit(roundId, 0, c);

        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotRoundOracle.selector, roundId, 3, o[0]));
        market.commit(roundId, 3, c);

        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotRoundOracle.selector, roundId, 64, o[0]));
        market.commit(roundId, 64, c);

        vm.prank(o[0]);
        market.commit(roundId, 0, c);
        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.AlreadyCommitted.selector, roundId, 0));
        market.commit(roundId, 0, c);

        vm.warp(_round(roundId).commitDeadline + 1);
        vm.prank(o[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitClosed.selector, roundId));
        market.commit(roundId, 1, c);
    }

    function test_commit_atDeadlineAccepted() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        vm.warp(_round(roundId).commitDeadline);
        _commit(slaId, roundId, 0, 5);
        assertEq(_round(roundId).commits, 1, "committed at the deadline");
    }

    function test_reveal_errors() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, roundId, 0, 10);
        _commit(slaId, roundId, 1, 11);

        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RevealNotOpen.selector, roundId));
        market.reveal(roundId, 0, 10, _salt(roundId, 0));

        vm.warp(_round(roundId).commitDeadline + 1);
        assertTrue(_round(roundId).revealOpen, "open after the commit deadline");

        vm.prank(o[2]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotCommitted.selector, roundId, 2));
        market.reveal(roundId, 2, 10, _salt(roundId, 2));

        vm.prank(o[2]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotCommitted.selector, roundId, 64));
        market.reveal(roundId, 64, 10, _salt(roundId, 2));

        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitmentMismatch.selector, roundId, 0));
        market.reveal(roundId, 0, 11, _salt(roundId, 0));

        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitmentMismatch.selector, roundId, 0));
        market.reveal(roundId, 0, 10, bytes32(0));

        vm.prank(o[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitmentMismatch.selector, roundId, 0));
        market.reveal(roundId, 0, 10, _salt(roundId, 0));

        vm.prank(o[0]);
        market.reveal(roundId, 0, 10, _salt(roundId, 0));
        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.AlreadyRevealed.selector, roundId, 0));
        market.reveal(roundId, 0, 10, _salt(roundId, 0));

        vm.prank(o[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotOpen.selector, roundId + 1));
        market.reveal(roundId + 1, 1, 11, _salt(roundId + 1, 1));

        vm.warp(_round(roundId).revealDeadline + 1);
        vm.prank(o[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RevealClosed.selector, roundId));
        market.reveal(roundId, 1, 11, _salt(roundId, 1));

        market.closeRound(roundId);
        vm.prank(o[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotOpen.selector, roundId));
        market.reveal(roundId, 1, 11, _salt(roundId, 1));
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotOpen.selector, roundId));
        market.closeRound(roundId);
    }

    /// A freeloader copying another oracle's commitment cannot open it: the hash binds the
    /// original oracle's address. The copier ends without a valid reveal: slashed and unpaid.
    function test_copiedCommitment_isUselessAndSlashed() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        address[] memory o = market.oraclesOf(slaId);
        bytes32 honest = market.commitmentOf(roundId, o[0], 2000, _salt(roundId, 0));
        vm.prank(o[0]);
        market.commit(roundId, 0, honest);
        vm.prank(o[1]);
        market.commit(roundId, 1, honest);
        _commit(slaId, roundId, 2, 2002);
        assertTrue(_round(roundId).revealOpen, "all committed");

        _reveal(slaId, roundId, 0, 2000);
        // The copier replays the honest oracle's opening: the hash has the wrong address.
        vm.prank(o[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitmentMismatch.selector, roundId, 1));
        market.reveal(roundId, 1, 2000, _salt(roundId, 0));
        _reveal(slaId, roundId, 2, 2002);
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Open, "waits for the copier");

        vm.warp(_round(roundId).revealDeadline + 1);
        vm.expectEmit(address(market));
        emit ISlaMarket.OracleSlashed(slaId, roundId, o[1], DEPOSIT);
        market.closeRound(roundId);
        ISlaMarket.RoundView memory r = _round(roundId);
        assertTrue(r.status == ISlaMarket.RoundStatus.Answered, "answered by the two honest oracles");
        assertEq(market.withdrawable(o[1]), 0, "copier unpaid, deposit forfeited");
        assertEq(market.withdrawable(o[0]), uint256(PAY) + DEPOSIT, "honest paid");
        assertEq(market.withdrawable(purchaser), DEPOSIT + PAY, "forfeit + unspent payment");
        MockReputation.Call memory c = reputation.callAt(0);
        assertEq(c.completedMask, 5, "copier not completed");
        assertEq(c.penalizedMask, 2, "copier penalized");
    }

    /// Copying a revealed answer is too late: reveals open only after the commit phase.
    function test_copiedAnswer_commitPhaseClosed() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, roundId, 0, 2000);
        _commit(slaId, roundId, 1, 2001);
        vm.warp(_round(roundId).commitDeadline + 1);
        _reveal(slaId, roundId, 0, 2000);
        bytes32 copy = market.commitmentOf(roundId, o[2], 2000, bytes32(0));
        vm.prank(o[2]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitClosed.selector, roundId));
        market.commit(roundId, 2, copy);
    }

    function test_copiedAnswer_allCommittedNoSlotLeft() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, roundId, 0, 2000);
        _commit(slaId, roundId, 1, 1);
        _reveal(slaId, roundId, 0, 2000);
        bytes32 copy = market.commitmentOf(roundId, o[1], 2000, bytes32(0));
        vm.prank(o[1]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.AlreadyCommitted.selector, roundId, 1));
        market.commit(roundId, 1, copy);
    }

    function test_silentOracle_slashedRoundEndsWithLastReveal() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, roundId, 0, 100);
        _commit(slaId, roundId, 2, 300);
        vm.warp(_round(roundId).commitDeadline + 1);
        _reveal(slaId, roundId, 0, 100);
        vm.recordLogs();
        _reveal(slaId, roundId, 2, 300);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, ISlaMarket.OracleSlashed.selector), 1, "one slash");
        assertEq(_countLogs(logs, ISlaMarket.OraclePaid.selector), 2, "two paid");
        ISlaMarket.RoundView memory r = _round(roundId);
        assertTrue(r.status == ISlaMarket.RoundStatus.Answered, "answered");
        assertEq(r.answer, 100, "lower median of two");
        assertEq(market.withdrawable(o[1]), 0, "silent oracle gets nothing");
        assertEq(market.withdrawable(purchaser), DEPOSIT + PAY, "deposit + unused payment");
        assertEq(_activeMask(slaId), 5, "silent oracle left the active set");
        MockReputation.Call memory c = reputation.callAt(0);
        assertEq(c.completedMask, 5, "completed");
        assertEq(c.penalizedMask, 2, "penalized");
        assertEq(c.responseBlocks[1], 0, "no response time");
    }

    function test_closeRound_afterRevealDeadline_slashesNonRevealer() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, roundId, 0, 100);
        _commit(slaId, roundId, 1, 200);
        _commit(slaId, roundId, 2, 300);
        _reveal(slaId, roundId, 0, 100);
        _reveal(slaId, roundId, 1, 200);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotDue.selector, roundId));
        market.closeRound(roundId);
        vm.warp(_round(roundId).revealDeadline);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotDue.selector, roundId));
        market.closeRound(roundId);
        vm.warp(block.timestamp + 1);
        market.closeRound(roundId);
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Answered, "answered");
        assertEq(market.withdrawable(o[2]), 0, "committed, not revealed: slashed");
        assertEq(market.withdrawable(o[0]), uint256(PAY) + DEPOSIT, "paid");
    }

    function test_closeRound_tooFewRevealsFails() public {
        ISlaMarket.SlaTerms memory t = _terms(3);
        t.minResponses = 3;
        (uint256 slaId, uint256 roundId) = _activeSla(t, 3);
        _commit(slaId, roundId, 0, 100);
        _commit(slaId, roundId, 1, 200);
        _commit(slaId, roundId, 2, 300);
        _reveal(slaId, roundId, 0, 100);
        _reveal(slaId, roundId, 1, 200);
        vm.warp(_round(roundId).revealDeadline + 1);
        vm.expectEmit(address(market));
        emit ISlaMarket.RoundFailed(slaId, roundId, ISlaMarket.RoundFailure.TooFewReveals);
        market.closeRound(roundId);
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Failed, "failed");
        assertEq(consumer.calls(), 0, "no callback");
        assertEq(market.withdrawable(purchaser), 3 * uint256(PAY) + DEPOSIT, "payment + one forfeit");
        assertEq(market.withdrawable(nodes[0]), DEPOSIT, "revealer keeps its deposit, unpaid");
    }

    /// Too few commitments at the commit deadline: anyone may close at once; committers had no
    /// chance to reveal and are not slashed, silent oracles are.
    function test_closeRound_earlyWhenTooFewCommits() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, roundId, 0, 100);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotDue.selector, roundId));
        market.closeRound(roundId);
        vm.warp(_round(roundId).commitDeadline + 1);
        market.closeRound(roundId);
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Failed, "failed");
        assertEq(market.withdrawable(o[0]), DEPOSIT, "committer spared");
        assertEq(market.withdrawable(o[1]), 0, "silent slashed");
        assertEq(market.withdrawable(o[2]), 0, "silent slashed");
        assertEq(market.withdrawable(purchaser), 3 * uint256(PAY) + 2 * uint256(DEPOSIT), "refund + forfeits");
        MockReputation.Call memory c = reputation.callAt(0);
        assertEq(c.penalizedMask, 6, "silent ones penalized");
        assertEq(c.completedMask, 0, "none completed");
        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotOpen.selector, roundId));
        market.reveal(roundId, 0, 100, _salt(roundId, 0));
    }

    function test_closeRound_enoughCommitsWaitsForRevealDeadline() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        _commit(slaId, roundId, 0, 100);
        _commit(slaId, roundId, 1, 100);
        vm.warp(_round(roundId).commitDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundNotDue.selector, roundId));
        market.closeRound(roundId);
    }

    function test_nobodyCommits_allSlashed() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        vm.warp(_round(roundId).commitDeadline + 1);
        market.closeRound(roundId);
        assertEq(market.withdrawable(purchaser), 2 * uint256(PAY) + 2 * uint256(DEPOSIT), "all back");
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Ended, "ended");
        assertEq(_activeMask(slaId), 0, "nobody active");
    }

    function test_aggregatorReverting_failsRound() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        aggregator.setRevert(true);
        for (uint256 i = 0; i < 3; ++i) {
            _commit(slaId, roundId, i, int256(7 + i));
        }
        _reveal(slaId, roundId, 0, 7);
        _reveal(slaId, roundId, 1, 8);
        vm.expectEmit(address(market));
        emit ISlaMarket.RoundFailed(slaId, roundId, ISlaMarket.RoundFailure.AggregatorFailed);
        _reveal(slaId, roundId, 2, 9);
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Failed, "failed");
        assertEq(consumer.calls(), 0, "no callback");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(market.withdrawable(nodes[i]), DEPOSIT, "not slashed, not paid");
        }
        assertEq(market.withdrawable(purchaser), 3 * uint256(PAY), "payment back");
        assertEq(reputation.callAt(0).completedMask, 7, "completed");
        assertEq(reputation.callAt(0).acceptedMask, 0, "none accepted");
    }

    function test_aggregatorOutOfGas_failsRound() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        aggregator.setBurnGas(true);
        _answerRound(slaId, roundId, _answers(2, 7));
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Failed, "failed");
    }

    function test_aggregatorShortReturn_failsRound() public {
        ISlaMarket.SlaTerms memory t = _terms(2);
        t.aggregator = address(new ShortReturnAggregator());
        (uint256 slaId, uint256 roundId) = _activeSla(t, 2);
        _answerRound(slaId, roundId, _answers(2, 7));
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Failed, "failed");
    }

    /// A valid reveal the aggregator rejects is neither paid nor slashed; accepted bits are
    /// reported by oracle index even when a silent oracle sits between revealers.
    function test_rejectedAnswer_unpaidNotSlashed() public {
        (uint256 slaId, uint256 roundId) = _activeSla(4);
        _commit(slaId, roundId, 0, 10);
        _commit(slaId, roundId, 2, 12);
        _commit(slaId, roundId, 3, 999);
        vm.warp(_round(roundId).commitDeadline + 1);
        aggregator.setMask(3); // answers (index 0, 2, 3) -> accept positions 0, 1
        _reveal(slaId, roundId, 0, 10);
        _reveal(slaId, roundId, 2, 12);
        vm.expectEmit(address(market));
        emit ISlaMarket.RoundAnswered(slaId, roundId, 12, 5);
        _reveal(slaId, roundId, 3, 999);
        assertEq(market.withdrawable(nodes[3]), DEPOSIT, "rejected: deposit back, unpaid");
        assertEq(market.withdrawable(nodes[0]), uint256(DEPOSIT) + PAY, "paid");
        assertEq(market.withdrawable(nodes[1]), 0, "silent slashed");
        MockReputation.Call memory c = reputation.callAt(0);
        assertEq(c.completedMask, 13, "completed positions");
        assertEq(c.acceptedMask, 5, "accepted positions");
        assertEq(c.penalizedMask, 2, "penalized position");
    }

    function test_callbackReverting_doesNotRevertRound() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        consumer.setRevert(true);
        vm.recordLogs();
        _answerRound(slaId, roundId, _answers(2, 7));
        assertEq(_countLogs(vm.getRecordedLogs(), ISlaMarket.CallbackFailed.selector), 1, "CallbackFailed emitted");
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Answered, "answered");
        assertEq(market.withdrawable(nodes[0]), uint256(DEPOSIT) + PAY, "paid");
    }

    function test_callbackOutOfGas_doesNotRevertRound() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        consumer.setBurnGas(true);
        vm.recordLogs();
        _answerRound(slaId, roundId, _answers(2, 7));
        assertEq(_countLogs(vm.getRecordedLogs(), ISlaMarket.CallbackFailed.selector), 1, "CallbackFailed emitted");
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Answered, "answered");
    }

    function test_reputationReverting_doesNotBlockRound() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        reputation.setRevert(true);
        vm.recordLogs();
        _answerRound(slaId, roundId, _answers(2, 7));
        assertEq(
            _countLogs(vm.getRecordedLogs(), SlaMarket.ReputationRecordFailed.selector),
            1,
            "ReputationRecordFailed emitted"
        );
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Answered, "answered");
        assertEq(consumer.calls(), 1, "callback still made");
    }

    function test_reputationOutOfGas_doesNotBlockRound() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        reputation.setBurnGas(true);
        vm.recordLogs();
        _answerRound(slaId, roundId, _answers(2, 7));
        assertEq(
            _countLogs(vm.getRecordedLogs(), SlaMarket.ReputationRecordFailed.selector),
            1,
            "ReputationRecordFailed emitted"
        );
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Answered, "answered");
    }

    /// The caller of the finalising transaction cannot starve the capped calls.
    function test_finalisingCall_needsEnoughGas() public {
        (uint256 slaId, uint256 roundId) = _activeSla(2);
        _commit(slaId, roundId, 0, 1);
        _commit(slaId, roundId, 1, 2);
        _reveal(slaId, roundId, 0, 1);
        address o1 = market.oraclesOf(slaId)[1];
        bytes32 salt = _salt(roundId, 1);
        vm.prank(o1);
        vm.expectPartialRevert(SlaMarket.InsufficientGas.selector);
        market.reveal{gas: 300_000}(roundId, 1, 2, salt);
        vm.prank(o1);
        market.reveal(roundId, 1, 2, salt);
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Answered, "answered with enough gas");
    }

    function test_wideAnswers_roundTrip() public {
        (uint256 slaId, uint256 roundId) = _activeSla(3);
        int256[] memory a = new int256[](3);
        a[0] = type(int256).min;
        a[1] = int256(uint256(keccak256("bytes32 answer")) >> 1);
        a[2] = type(int256).max;
        _answerRound(slaId, roundId, a);
        assertEq(_round(roundId).answer, a[1], "median of wide answers");
    }

    function test_noCallback_answered() public {
        ISlaMarket.SlaTerms memory t = _terms(1);
        t.callback = address(0);
        (uint256 slaId, uint256 roundId) = _activeSla(t, 1);
        _answerRound(slaId, roundId, _answers(1, -5));
        assertEq(_round(roundId).answer, -5, "negative answer");
        assertEq(consumer.calls(), 0, "no callback");
    }

    function test_concurrentSlas() public {
        ISlaMarket.SlaTerms memory t = _terms(2);
        uint256 slaA = _propose(t);
        uint256 slaB = _propose(t);
        _bid(slaA, nodes[0]);
        _bid(slaB, nodes[0]);
        _bid(slaA, nodes[1]);
        _bid(slaB, nodes[5]);
        vm.warp(t.biddingEnds);
        market.finalize(slaB);
        market.finalize(slaA);
        s_selected[slaA] = market.oraclesOf(slaA);
        s_selected[slaB] = market.oraclesOf(slaB);
        uint256 roundA = market.latestRoundOf(slaA);
        uint256 roundB = market.latestRoundOf(slaB);
        assertEq(roundB, 1, "B finalized first");
        assertEq(roundA, 2, "A second");
        _commit(slaA, roundA, 0, 1);
        _commit(slaB, roundB, 0, 100);
        _commit(slaB, roundB, 1, 101);
        _commit(slaA, roundA, 1, 2);
        _reveal(slaB, roundB, 1, 101);
        _reveal(slaA, roundA, 0, 1);
        _reveal(slaB, roundB, 0, 100);
        _reveal(slaA, roundA, 1, 2);
        assertEq(_round(roundA).answer, 1, "A");
        assertEq(_round(roundB).answer, 100, "B");
        assertEq(market.withdrawable(nodes[0]), 2 * (uint256(DEPOSIT) + PAY), "node 0 served both");
    }
}

/// @dev Feeds: startRound rules, heartbeat, overlapping rounds, endSla.
contract SlaMarketFeedTest is SlaFixture {
    function _feed(uint8 n, uint32 rounds, uint32 heartbeat) internal returns (uint256 slaId, uint256 roundId) {
        ISlaMarket.SlaTerms memory t = _terms(n);
        t.rounds = rounds;
        t.heartbeat = heartbeat;
        t.deviationBps = 50;
        return _activeSla(t, n);
    }

    function test_startRound_rules() public {
        (uint256 slaId, uint256 r1) = _feed(3, 3, 0);
        address[] memory o = market.oraclesOf(slaId);

        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitPhaseOpen.selector, r1));
        market.startRound(slaId);

        vm.warp(_round(r1).commitDeadline + 1);
        vm.prank(nodes[50]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotAllowedToStartRound.selector, nodes[50]));
        market.startRound(slaId);

        vm.expectRevert(abi.encodeWithSelector(SlaMarket.SlaNotActive.selector, 7));
        market.startRound(7);

        vm.prank(o[1]);
        vm.expectEmit(address(market));
        emit ISlaMarket.RoundStarted(
            slaId, r1 + 1, uint64(block.timestamp + COMMIT_WINDOW), uint64(block.timestamp + 120)
        );
        uint256 r2 = market.startRound(slaId);
        assertEq(r2, r1 + 1, "round 2");
        assertEq(market.latestRoundOf(slaId), r2, "latest");

        // All committed: the commit phase is over at once.
        _commit(slaId, r2, 0, 1);
        _commit(slaId, r2, 1, 1);
        _commit(slaId, r2, 2, 1);
        vm.prank(o[2]);
        uint256 r3 = market.startRound(slaId);
        vm.warp(_round(r3).commitDeadline + 1);
        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NoRoundsLeft.selector, slaId));
        market.startRound(slaId);
        (,,, uint256 started, uint256 open) = market.escrowOf(slaId);
        assertEq(started, 3, "three started");
        assertEq(open, 3, "three open");
    }

    function test_startRound_heartbeat() public {
        (uint256 slaId, uint256 r1) = _feed(2, 3, 300);
        uint256 start = block.timestamp;
        vm.warp(_round(r1).commitDeadline + 1);
        vm.prank(nodes[77]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotAllowedToStartRound.selector, nodes[77]));
        market.startRound(slaId);
        vm.warp(start + 300);
        vm.prank(nodes[77]);
        uint256 r2 = market.startRound(slaId);
        assertEq(r2, r1 + 1, "anyone after the heartbeat");
        // The heartbeat counts from the last round start.
        vm.warp(block.timestamp + 299);
        vm.prank(nodes[77]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotAllowedToStartRound.selector, nodes[77]));
        market.startRound(slaId);
    }

    function test_startRound_slashedOracleMayNotStart() public {
        (uint256 slaId, uint256 r1) = _feed(3, 3, 0);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, r1, 0, 1);
        _commit(slaId, r1, 1, 1);
        vm.warp(_round(r1).commitDeadline + 1);
        _reveal(slaId, r1, 0, 1);
        _reveal(slaId, r1, 1, 1);
        assertEq(_activeMask(slaId), 3, "oracle 2 slashed");
        assertTrue(market.isSelected(slaId, o[2]), "still listed as selected");
        vm.prank(o[2]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotAllowedToStartRound.selector, o[2]));
        market.startRound(slaId);
        vm.prank(o[0]);
        uint256 r2 = market.startRound(slaId);
        vm.prank(o[2]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotRoundOracle.selector, r2, 2, o[2]));
        market.commit(r2, 2, bytes32(0));
    }

    function test_startRound_tooFewActiveOracles() public {
        ISlaMarket.SlaTerms memory t = _terms(3);
        t.rounds = 3;
        t.minResponses = 2;
        (uint256 slaId, uint256 r1) = _activeSla(t, 3);
        address[] memory o = market.oraclesOf(slaId);
        // Round 1: everyone commits (commit phase over), round 2 starts and overlaps.
        _commit(slaId, r1, 0, 1);
        _commit(slaId, r1, 1, 1);
        _commit(slaId, r1, 2, 1);
        vm.prank(o[0]);
        uint256 r2 = market.startRound(slaId);
        // Round 1: only oracle 0 reveals; 1 and 2 are slashed at its close.
        _reveal(slaId, r1, 0, 1);
        _commit(slaId, r2, 0, 1);
        _commit(slaId, r2, 1, 1);
        _commit(slaId, r2, 2, 1);
        vm.warp(_round(r1).revealDeadline + 1);
        market.closeRound(r1);
        assertEq(_activeMask(slaId), 1, "one active");
        vm.prank(o[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.TooFewActiveOracles.selector, slaId));
        market.startRound(slaId);
        // Round 2 still runs with its snapshot; the slashed oracles have nothing left to forfeit.
        vm.recordLogs();
        market.closeRound(r2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, ISlaMarket.OracleSlashed.selector), 1, "only oracle 0 (silent in r2) forfeits");
        // No open round and too few active oracles: the SLA ended by itself.
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Ended, "ended");
        assertEq(market.withdrawable(purchaser), 3 * uint256(DEPOSIT) + 3 * 3 * uint256(PAY), "refund");
    }

    function test_overlappingRounds() public {
        (uint256 slaId, uint256 r1) = _feed(3, 2, 0);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, r1, 0, 100);
        _commit(slaId, r1, 1, 110);
        _commit(slaId, r1, 2, 120);
        vm.prank(o[1]);
        uint256 r2 = market.startRound(slaId);
        // Round 2 commits while round 1 reveals.
        _reveal(slaId, r1, 0, 100);
        _commit(slaId, r2, 0, 200);
        _reveal(slaId, r1, 1, 110);
        _commit(slaId, r2, 1, 210);
        _commit(slaId, r2, 2, 220);
        _reveal(slaId, r2, 2, 220);
        _reveal(slaId, r1, 2, 120);
        assertEq(_round(r1).answer, 110, "round 1");
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Active, "round 2 still open");
        vm.prank(purchaser);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundsInProgress.selector, slaId));
        market.endSla(slaId);
        _reveal(slaId, r2, 0, 200);
        _reveal(slaId, r2, 1, 210);
        assertEq(_round(r2).answer, 210, "round 2");
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Ended, "all rounds done");
        assertEq(market.withdrawable(o[0]), uint256(DEPOSIT) + 2 * uint256(PAY), "two rounds paid");
        assertEq(consumer.calls(), 2, "two callbacks");
    }

    function test_lastRoundFinishingFirst_waitsForOpenRounds() public {
        (uint256 slaId, uint256 r1) = _feed(2, 2, 0);
        address[] memory o = market.oraclesOf(slaId);
        _commit(slaId, r1, 0, 1);
        _commit(slaId, r1, 1, 1);
        vm.prank(o[0]);
        uint256 r2 = market.startRound(slaId);
        _answerRound(slaId, r2, _answers(2, 5));
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Active, "round 1 still open");
        _reveal(slaId, r1, 0, 1);
        _reveal(slaId, r1, 1, 1);
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Ended, "ended after the last open round");
    }

    function test_endSla_refundsUnspentAndDeposits() public {
        (uint256 slaId, uint256 r1) = _feed(2, 5, 0);
        vm.prank(purchaser);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.RoundsInProgress.selector, slaId));
        market.endSla(slaId);
        _answerRound(slaId, r1, _answers(2, 5));
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotPurchaser.selector, nodes[0]));
        market.endSla(slaId);
        vm.expectEmit(address(market));
        emit ISlaMarket.SlaEnded(slaId, 4 * 2 * uint256(PAY));
        vm.prank(purchaser);
        market.endSla(slaId);
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Ended, "ended");
        assertEq(market.withdrawable(purchaser), 8 * uint256(PAY), "four rounds refunded");
        assertEq(market.withdrawable(nodes[0]), uint256(DEPOSIT) + PAY, "deposit back");
        (uint256 payment, uint256 deposits,,,) = market.escrowOf(slaId);
        assertEq(payment + deposits, 0, "nothing escrowed");
        vm.prank(purchaser);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.SlaNotActive.selector, slaId));
        market.endSla(slaId);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.SlaNotActive.selector, slaId));
        market.startRound(slaId);
        assertEq(market.oraclesOf(slaId).length, 2, "oracles still listed");
    }

    function test_feedRoundsRecordEachRoundOnce() public {
        (uint256 slaId, uint256 r1) = _feed(2, 3, 0);
        _answerRound(slaId, r1, _answers(2, 1));
        address o0 = market.oraclesOf(slaId)[0];
        vm.prank(o0);
        uint256 r2 = market.startRound(slaId);
        _answerRound(slaId, r2, _answers(2, 2));
        vm.prank(o0);
        uint256 r3 = market.startRound(slaId);
        _answerRound(slaId, r3, _answers(2, 3));
        assertEq(reputation.callCount(), 3, "three records");
        assertEq(reputation.callAt(2).roundId, r3, "last round");
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Ended, "ended after three rounds");
        assertEq(market.withdrawable(purchaser), 0, "everything spent");
    }
}

/// @dev The ISlaDirectory side and the remaining views.
contract SlaMarketViewTest is SlaFixture {
    function test_directory() public {
        (uint256 slaId,) = _activeSla(2);
        assertEq(market.purchaserOf(slaId), purchaser, "purchaser");
        assertEq(market.purchaserOf(99), address(0), "unknown sla");
        assertTrue(market.isSelected(slaId, nodes[0]), "selected");
        assertFalse(market.isSelected(slaId, nodes[9]), "not selected");
        assertFalse(market.isSelected(99, nodes[0]), "unknown sla");
    }

    function test_commitmentOf_bindsEverything() public view {
        bytes32 c = market.commitmentOf(1, nodes[0], 5, bytes32("s"));
        assertEq(c, keccak256(abi.encode(address(market), uint256(1), nodes[0], int256(5), bytes32("s"))), "formula");
        assertTrue(c != market.commitmentOf(2, nodes[0], 5, bytes32("s")), "round");
        assertTrue(c != market.commitmentOf(1, nodes[1], 5, bytes32("s")), "oracle");
        assertTrue(c != market.commitmentOf(1, nodes[0], 6, bytes32("s")), "answer");
        assertTrue(c != market.commitmentOf(1, nodes[0], 5, bytes32("t")), "salt");
    }

    function test_roundOf_unknown() public view {
        ISlaMarket.RoundView memory r = market.roundOf(42);
        assertTrue(r.status == ISlaMarket.RoundStatus.None, "none");
        assertFalse(r.revealOpen, "closed");
    }

    function test_reputationInterfaceMockCompiles() public view {
        IReputation.Record memory rec = reputation.recordOf(nodes[0], JOB_TYPE);
        assertEq(rec.assigned, 0, "mock");
    }
}
