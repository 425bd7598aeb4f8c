// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {SlaFixture} from "./SlaFixture.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {SlaMarket} from "../../src/market/SlaMarket.sol";

/// @dev Fuzz tests: random payments, deposits, n, timing, answers, silent oracles and scores.
contract SlaMarketFuzzTest is SlaFixture {
    struct Params {
        uint8 n;
        uint8 minResponses;
        uint96 pay;
        uint96 deposit;
        uint256 silentMask;
        uint256 answerSeed;
        uint256 delay;
        bool wide;
    }

    function _params(
        uint256 nSeed,
        uint256 minSeed,
        uint96 pay,
        uint96 deposit,
        uint256 silentMask,
        uint256 answerSeed,
        uint256 delay,
        bool wide
    ) internal pure returns (Params memory p) {
        p.n = uint8(bound(nSeed, 1, 12));
        p.minResponses = uint8(bound(minSeed, 1, p.n));
        p.pay = uint96(bound(pay, 0, 10_000 ether));
        p.deposit = uint96(bound(deposit, 0, 100 ether));
        p.silentMask = silentMask & ((uint256(1) << p.n) - 1);
        p.answerSeed = answerSeed;
        p.delay = bound(delay, 0, COMMIT_WINDOW);
        p.wide = wide;
    }

    function _answerOf(Params memory p, uint256 i) internal pure returns (int256 a) {
        a = int256(uint256(keccak256(abi.encode(p.answerSeed, i))));
        if (!p.wide) a = int256(int192(a));
    }

    /// One round with random terms, answers, silent oracles and commit timing: the money adds up.
    function testFuzz_round(
        uint256 nSeed,
        uint256 minSeed,
        uint96 pay,
        uint96 deposit,
        uint256 silentMask,
        uint256 answerSeed,
        uint256 delay,
        bool wide
    ) public {
        Params memory p = _params(nSeed, minSeed, pay, deposit, silentMask, answerSeed, delay, wide);
        ISlaMarket.SlaTerms memory t = _terms(p.n);
        t.minResponses = p.minResponses;
        t.paymentPerOracle = p.pay;
        t.penaltyDeposit = p.deposit;
        (uint256 slaId, uint256 roundId) = _activeSla(t, p.n);

        vm.warp(block.timestamp + p.delay);
        uint256 committers;
        for (uint256 i = 0; i < p.n; ++i) {
            if ((p.silentMask >> i) & 1 == 0) {
                _commit(slaId, roundId, i, _answerOf(p, i));
                ++committers;
            }
        }
        // All committed: reveals are open already; otherwise wait for the commit deadline.
        if (committers < p.n) vm.warp(_round(roundId).commitDeadline + 1);
        if (committers == 0) {
            market.closeRound(roundId);
        } else {
            for (uint256 i = 0; i < p.n; ++i) {
                if ((p.silentMask >> i) & 1 == 0) _reveal(slaId, roundId, i, _answerOf(p, i));
            }
        }

        ISlaMarket.RoundView memory r = _round(roundId);
        bool answered = committers >= p.minResponses;
        assertTrue(r.status == (answered ? ISlaMarket.RoundStatus.Answered : ISlaMarket.RoundStatus.Failed), "status");
        assertEq(r.reveals, committers, "reveals");
        assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Ended, "one-shot ended");

        uint256 credited;
        for (uint256 i = 0; i < p.n; ++i) {
            uint256 expected;
            if ((p.silentMask >> i) & 1 == 0) expected = uint256(p.deposit) + (answered ? p.pay : 0);
            assertEq(market.withdrawable(nodes[i]), expected, "oracle credit");
            credited += expected;
        }
        uint256 silent = p.n - committers;
        uint256 refund = uint256(p.pay) * (answered ? silent : p.n) + uint256(p.deposit) * silent;
        assertEq(market.withdrawable(purchaser), refund, "purchaser credit");
        assertEq(link.balanceOf(address(market)), credited + refund, "balance = credits");
    }

    /// Selection takes the n best scores, ties to the earlier bid, whatever the scores.
    function testFuzz_selection(uint256[10] memory scores, uint256 nSeed, uint256 bidders) public {
        uint8 n = uint8(bound(nSeed, 1, 10));
        bidders = bound(bidders, 0, 10);
        ISlaMarket.SlaTerms memory t = _terms(n);
        t.minResponses = 1;
        uint256 slaId = _propose(t);
        for (uint256 i = 0; i < bidders; ++i) {
            // Few distinct values so that ties are common.
            scores[i] = 1000 + 1000 * bound(scores[i], 0, 4);
            reputation.setScore(nodes[i], scores[i]);
            _bid(slaId, nodes[i]);
        }
        vm.warp(t.biddingEnds);
        market.finalize(slaId);
        if (bidders < n) {
            assertTrue(_status(slaId) == ISlaMarket.SlaStatus.Cancelled, "cancelled");
            return;
        }
        address[] memory selected = market.oraclesOf(slaId);
        assertEq(selected.length, n, "n selected");
        // Expected: stable sort of bid indices by descending score.
        uint256[] memory order = new uint256[](bidders);
        for (uint256 i = 0; i < bidders; ++i) {
            order[i] = i;
        }
        for (uint256 i = 1; i < bidders; ++i) {
            uint256 v = order[i];
            uint256 j = i;
            while (j > 0 && scores[order[j - 1]] < scores[v]) {
                order[j] = order[j - 1];
                --j;
            }
            order[j] = v;
        }
        for (uint256 k = 0; k < n; ++k) {
            assertEq(selected[k], nodes[order[k]], "rank order");
        }
        for (uint256 k = n; k < bidders; ++k) {
            assertEq(market.withdrawable(nodes[order[k]]), DEPOSIT, "loser refunded");
        }
    }

    /// Only the exact (answer, salt) of the committing oracle opens a commitment.
    function testFuzz_commitmentBinding(int256 answer, bytes32 salt, int256 otherAnswer, bytes32 otherSalt) public {
        vm.assume(answer != otherAnswer || salt != otherSalt);
        (uint256 slaId, uint256 roundId) = _activeSla(1);
        address oracle = s_selected[slaId][0];
        bytes32 c = market.commitmentOf(roundId, oracle, answer, salt);
        vm.prank(oracle);
        market.commit(roundId, 0, c);
        vm.prank(oracle);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitmentMismatch.selector, roundId, 0));
        market.reveal(roundId, 0, otherAnswer, otherSalt);
        vm.prank(oracle);
        market.reveal(roundId, 0, answer, salt);
        assertEq(_round(roundId).answer, answer, "answer kept exactly");
    }

    /// Random exact and inexact payments and deposits: only exact amounts are accepted.
    function testFuzz_exactAmounts(uint96 pay, uint96 deposit, uint256 off, uint8 nSeed, uint32 rounds) public {
        uint8 n = uint8(bound(nSeed, 1, 64));
        ISlaMarket.SlaTerms memory t = _terms(n);
        t.minResponses = 1;
        t.paymentPerOracle = uint96(bound(pay, 0, 1 ether));
        t.rounds = uint32(bound(rounds, 1, 100));
        t.penaltyDeposit = uint96(bound(deposit, 1, 100 ether));
        uint256 price = _price(t);
        off = bound(off, 1, 1 ether);
        vm.prank(purchaser);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.WrongPayment.selector, price, price + off));
        link.transferAndCall(address(market), price + off, abi.encodeCall(ISlaMarket.propose, (t)));
        uint256 slaId = _propose(t);
        uint256 wrong = off < t.penaltyDeposit ? t.penaltyDeposit - off : t.penaltyDeposit + off;
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.WrongDeposit.selector, t.penaltyDeposit, wrong));
        link.transferAndCall(address(market), wrong, abi.encodeCall(ISlaMarket.bid, (slaId)));
        _bid(slaId, nodes[0]);
        assertEq(link.balanceOf(address(market)), price + t.penaltyDeposit, "exact amounts held");
    }
}
