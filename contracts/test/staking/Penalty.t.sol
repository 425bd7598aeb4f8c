// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {StakingFixture} from "./StakingFixture.sol";
import {LinkPool} from "../../src/staking/LinkPool.sol";
import {Node} from "../../src/staking/Node.sol";
import {PoolStorage} from "../../src/staking/PoolStorage.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MockMarket} from "./mocks/MockMarket.sol";

/// Bids (penalty deposits), forwarded network calls, deposit settlement and slashing.
contract PenaltyTest is StakingFixture {
    function _bid(uint256 amount) internal returns (uint256 bidId) {
        vm.prank(operator);
        bidId = nodeLogic.bid(node, address(market), amount, abi.encodeCall(ISlaMarket.bid, (7)));
    }

    function _settle(uint256 bidId, uint256 forfeited) internal {
        vm.prank(operator);
        nodeLogic.settleBid(node, bidId, forfeited);
    }

    /// The market returns the deposit and the node pulls it back.
    function _returnDeposit(uint256 amount) internal {
        market.release(node, amount);
        vm.prank(operator);
        nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
    }

    // ------------------------------------------------------------------ bids and calls

    function test_bid_sendsDepositAsTheNode() public {
        _stake(alice, 100 ether);
        uint256 bidId = _bid(40 ether);
        assertEq(bidId, 1, "first bid");
        assertEq(market.deposits(node), 40 ether, "the node is the bidder");
        assertEq(market.biddersOf(7)[0], node, "on SLA 7");
        assertEq(link.balanceOf(node), 60 ether, "deposit left the node");
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.locked, 40 ether, "locked");
        assertEq(info.totalStaked, 100 ether, "still staked");
        (uint256 amount, address target, bool open) = pool.bidOf(node, 1);
        assertEq(amount, 40 ether, "amount");
        assertEq(target, address(market), "target");
        assertTrue(open, "open");
        assertEq(pool.bidCount(node), 1, "bid count");
        assertEq(pool.distributable(node), 0, "a bid is not a loss");
    }

    function test_bid_onlyOperator() public {
        _stake(alice, 100 ether);
        vm.prank(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, poolOwner));
        nodeLogic.bid(node, address(market), 1 ether, abi.encodeCall(ISlaMarket.bid, (7)));
    }

    function test_bid_onlyToWhitelisted() public {
        _stake(alice, 100 ether);
        MockMarket rogue = new MockMarket(link);
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(rogue)));
        nodeLogic.bid(node, address(rogue), 1 ether, abi.encodeCall(ISlaMarket.bid, (7)));
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, outsider));
        nodeLogic.bid(node, outsider, 1 ether, abi.encodeCall(ISlaMarket.bid, (7)));
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(link)));
        nodeLogic.bid(node, address(link), 1 ether, abi.encodeCall(ISlaMarket.bid, (7)));
        vm.stopPrank();
        assertEq(link.balanceOf(node), 100 ether, "nothing left");
    }

    /// A deposit carries only a bid: a `propose` payload would let the operator spend the stake as a
    /// purchaser and collect it back as an oracle of its own SLA.
    function test_bid_payloadMustBeABid() public {
        _stake(alice, 100 ether);
        ISlaMarket.SlaTerms memory t;
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(Node.UnsupportedBidPayload.selector, ISlaMarket.propose.selector));
        nodeLogic.bid(node, address(market), 100 ether, abi.encodeCall(ISlaMarket.propose, (t)));
        vm.expectRevert(abi.encodeWithSelector(Node.UnsupportedBidPayload.selector, bytes4(0)));
        nodeLogic.bid(node, address(market), 1 ether, "");
        vm.stopPrank();
        assertEq(link.balanceOf(node), 100 ether, "nothing left the node");
    }

    /// A deposit that came back but is not settled yet is not profit (it would be counted twice).
    function test_returnedUnsettledDepositIsNotProfit() public {
        _stake(alice, 100 ether);
        vm.prank(operator);
        uint256 bidId = nodeLogic.bid(node, address(market), 40 ether, abi.encodeCall(ISlaMarket.bid, (7)));
        market.release(node, 40 ether);
        vm.prank(operator);
        nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        assertEq(nodeLogic.distribute(node), 0, "no profit from the returned deposit");
        vm.prank(operator);
        nodeLogic.settleBid(node, bidId, 0);
        vm.prank(alice);
        nodeLogic.withdraw(node, 100 ether);
        assertEq(link.balanceOf(alice), 100 ether, "whole stake back");
    }

    function test_bid_cannotSpendOwedLink() public {
        _stake(alice, 100 ether);
        _income(50 ether);
        _distribute(); // 50 owed: 40 stakers, 5 operator, 5 owners
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Node.InsufficientFreeBalance.selector, 100 ether, 100 ether + 1));
        nodeLogic.bid(node, address(market), 100 ether + 1, abi.encodeCall(ISlaMarket.bid, (7)));
        _bid(100 ether);
    }

    function test_forward_commitAsTheNode() public {
        vm.prank(operator);
        nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.commit, (1, 0, bytes32("c"))));
        assertEq(market.lastCaller(), node, "the market sees the node");
        assertEq(market.lastSelector(), ISlaMarket.commit.selector, "commit");
        vm.prank(operator);
        nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.reveal, (1, 0, 42, bytes32("s"))));
        vm.prank(operator);
        nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.closeRound, (1)));
        assertEq(market.calls(), 3, "three calls");
    }

    function test_forward_onlyOperatorOnlyWhitelisted() public {
        _stake(alice, 100 ether);
        bytes memory steal = abi.encodeCall(IERC20.transfer, (outsider, 100 ether));
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, outsider));
        nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        vm.prank(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, poolOwner));
        nodeLogic.forward(node, address(link), steal);
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(link)));
        nodeLogic.forward(node, address(link), steal);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(registry)));
        nodeLogic.forward(node, address(registry), "");
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(staking)));
        nodeLogic.forward(node, address(staking), abi.encodeWithSignature("onStake(address,uint256)", operator, 1e30));
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, node));
        nodeLogic.forward(node, node, abi.encodeCall(PoolStorage.transferLink, (operator, 1)));
        vm.stopPrank();
        assertEq(link.balanceOf(node), 100 ether, "nothing moved");
    }

    function test_forward_bubblesRevert() public {
        vm.prank(operator);
        vm.expectRevert(MockMarket.OnlyLink.selector);
        nodeLogic.forward(node, address(market), abi.encodeCall(MockMarket.onTokenTransfer, (node, 0, "")));
    }

    // ------------------------------------------------------------------ settlement

    function test_settleBid_returnedDeposit() public {
        _stake(alice, 100 ether);
        uint256 bidId = _bid(40 ether);
        market.pay(node, 3 ether); // the node also earned a payment
        _returnDeposit(40 ether);
        _settle(bidId, 0);
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.locked, 0, "unlocked");
        assertEq(info.totalStaked, 100 ether, "no loss");
        assertEq(pool.distributable(node), 3 ether, "only the payment is profit");
        (,, bool open) = pool.bidOf(node, bidId);
        assertTrue(!open, "closed");
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Node.UnknownBid.selector, bidId));
        nodeLogic.settleBid(node, bidId, 0);
    }

    function test_settleBid_refusesDepositNotBack() public {
        _stake(alice, 100 ether);
        uint256 bidId = _bid(40 ether);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Node.DepositNotReturned.selector, 60 ether, 100 ether));
        nodeLogic.settleBid(node, bidId, 0);
    }

    function test_settleBid_access() public {
        _stake(alice, 100 ether);
        uint256 bidId = _bid(40 ether);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperatorOrOwner.selector, alice));
        nodeLogic.settleBid(node, bidId, 40 ether);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Node.ForfeitTooLarge.selector, 40 ether, 40 ether + 1));
        nodeLogic.settleBid(node, bidId, 40 ether + 1);
        market.forfeit(node, 40 ether);
        vm.prank(poolOwner); // the pool owner may settle too
        nodeLogic.settleBid(node, bidId, 40 ether);
    }

    // ------------------------------------------------------------------ slashing

    function test_slash_reducesAllStakersProportionally() public {
        _stake(alice, 100 ether);
        _stake(bob, 300 ether);
        uint256 bidId = _bid(40 ether);
        market.forfeit(node, 40 ether);
        _settle(bidId, 40 ether);
        assertEq(pool.stakeOf(node, alice), 90 ether, "alice -10 %");
        assertEq(pool.stakeOf(node, bob), 270 ether, "bob -10 %");
        assertEq(pool.totalStaked(node), 360 ether, "total");
        assertEq(pool.sharesOf(node, alice), 100 ether, "shares unchanged");
        assertEq(pool.nodeInfo(node).totalSlashed, 40 ether, "recorded");
        assertEq(pool.distributable(node), 0, "no profit from a slash");
        // A staker joining after the slash pays the new rate and loses nothing.
        _stake(carol, 90 ether);
        assertEq(pool.stakeOf(node, carol), 90 ether, "carol 1:1 in value");
        assertEq(pool.sharesOf(node, carol), 100 ether, "at 0.9 per share");
        vm.prank(alice);
        nodeLogic.withdrawAll(node);
        assertEq(link.balanceOf(alice), 90 ether, "alice gets what is left");
    }

    function test_slash_partialForfeit() public {
        _stake(alice, 100 ether);
        uint256 bidId = _bid(40 ether);
        market.forfeit(node, 10 ether);
        _returnDeposit(30 ether);
        _settle(bidId, 10 ether);
        assertEq(pool.stakeOf(node, alice), 90 ether, "only the forfeited part is lost");
        assertEq(pool.nodeInfo(node).locked, 0, "unlocked");
    }

    function test_lockedStakeCannotBeWithdrawn() public {
        _stake(alice, 100 ether);
        _stake(bob, 300 ether);
        _bid(350 ether);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Node.StakeLocked.selector, 300 ether, 350 ether));
        nodeLogic.withdraw(node, 100 ether);
        vm.prank(bob);
        nodeLogic.withdraw(node, 50 ether); // free stake can leave
        assertEq(link.balanceOf(bob), 50 ether, "free part");
    }

    /// A forfeit larger than the whole stake: the stake is wiped (new epoch), the excess is
    /// absorbed by undistributed profit, credited rewards survive, and staking restarts at 1:1.
    function test_slash_largerThanStake() public {
        _stake(alice, 100 ether);
        _income(10 ether);
        _distribute(); // alice credited 8
        _income(60 ether); // undistributed
        uint256 bidId = _bid(150 ether); // stake + part of the undistributed profit
        market.forfeit(node, 150 ether);
        vm.expectEmit(true, true, false, true, address(nodeLogic));
        emit Node.BidSettled(node, bidId, 150 ether, 150 ether, 100 ether, true);
        _settle(bidId, 150 ether);
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.totalStaked, 0, "stake gone");
        assertEq(info.totalShares, 0, "shares void");
        assertEq(info.epoch, 1, "new epoch");
        assertEq(pool.stakeOf(node, alice), 0, "alice stake gone");
        assertEq(pool.sharesOf(node, alice), 0, "alice shares void");
        assertEq(pool.rewardsOf(node, alice), 8 ether, "credited rewards survive");
        assertEq(pool.distributable(node), 10 ether, "60 - 50 of excess loss");
        // Staking restarts cleanly.
        _stake(bob, 50 ether);
        assertEq(pool.stakeOf(node, bob), 50 ether, "bob 1:1");
        assertEq(pool.sharesOf(node, bob), 50 ether, "fresh shares");
        _distribute();
        assertEq(pool.rewardsOf(node, bob), 8 ether, "bob gets the remaining profit's stakers part");
        assertEq(pool.rewardsOf(node, alice), 8 ether, "alice's old shares earn nothing more");
        vm.prank(alice);
        assertEq(nodeLogic.withdrawAll(node), 8 ether, "alice takes her rewards");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Node.InsufficientStake.selector, 0, 1));
        nodeLogic.withdraw(node, 1);
        // Everything the node still owes is covered.
        info = pool.nodeInfo(node);
        assertGe(
            info.balance + info.locked,
            info.totalStaked + info.rewardReserve + info.operatorOwed + info.ownersOwed,
            "solvent"
        );
    }

    function test_slash_nearlyWholeStakeWipes() public {
        _stake(alice, 100 ether);
        uint256 bidId = _bid(100 ether - 1);
        market.forfeit(node, 100 ether - 1);
        _settle(bidId, 100 ether - 1);
        // 1 juel left for 1e20 shares: beyond MAX_SHARES_PER_JUEL, the epoch is wiped.
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.epoch, 1, "wiped");
        assertEq(info.totalStaked, 0, "rest became profit");
        assertEq(pool.distributable(node), 1, "the juel");
    }

    function test_slash_withoutStakersIsAbsorbedByProfit() public {
        _income(100 ether);
        uint256 bidId = _bid(30 ether);
        market.forfeit(node, 30 ether);
        _settle(bidId, 30 ether);
        assertEq(pool.distributable(node), 70 ether, "profit minus the loss");
    }
}
