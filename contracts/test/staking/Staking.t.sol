// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {StakingFixture} from "./StakingFixture.sol";
import {LinkPool} from "../../src/staking/LinkPool.sol";
import {Node} from "../../src/staking/Node.sol";
import {NodeFactory} from "../../src/staking/NodeFactory.sol";
import {NodeStaking} from "../../src/staking/NodeStaking.sol";
import {PoolOwners} from "../../src/staking/PoolOwners.sol";
import {StakeLib} from "../../src/staking/StakeLib.sol";
import {PoolKeys} from "../../src/staking/PoolKeys.sol";

/// Nodes, stakes, withdrawals, distribution, owners, settings.
contract StakingTest is StakingFixture {
    // ------------------------------------------------------------------ nodes

    function test_addNode() public {
        vm.expectEmit(false, true, false, true, address(factory));
        emit NodeFactory.NodeCreated(address(0), bob, true, 250, 5000 ether);
        vm.prank(poolOwner);
        address second = factory.createNode(bob, true, 250, 5000 ether);
        assertEq(registry.nodeCount(), 2, "two nodes");
        assertTrue(registry.isNode(second), "registered");
        assertEq(pool.nodes()[1], second, "listed");
        LinkPool.NodeInfo memory info = pool.nodeInfo(second);
        assertEq(info.operator, bob, "operator");
        assertEq(info.feeBps, 250, "fee");
        assertEq(info.stakeLimit, 5000 ether, "limit");
        assertTrue(info.enabled, "enabled");
        assertTrue(info.isPrivate, "private");
        assertEq(info.totalStaked, 0, "empty");
    }

    function test_createNode_refusedForNonOwner() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(NodeFactory.NotPoolOwner.selector, outsider));
        factory.createNode(outsider, false, 0, LIMIT);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(NodeFactory.NotPoolOwner.selector, operator));
        factory.createNode(operator, false, 0, LIMIT);
        assertEq(registry.nodeCount(), 1, "still one node");
    }

    function test_createNode_validatesSettings() public {
        vm.startPrank(poolOwner);
        vm.expectRevert(NodeFactory.ZeroAddress.selector);
        factory.createNode(address(0), false, 0, LIMIT);
        vm.expectRevert(abi.encodeWithSelector(NodeFactory.FeeTooHigh.selector, 5001, 5000));
        factory.createNode(operator, false, 5001, LIMIT);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ staking

    function test_stake() public {
        _stake(alice, 100 ether);
        assertEq(pool.stakeOf(node, alice), 100 ether, "stake");
        assertEq(pool.sharesOf(node, alice), 100 ether, "shares 1:1");
        assertEq(pool.totalStaked(node), 100 ether, "total");
        assertEq(link.balanceOf(node), 100 ether, "LINK held by the node");
    }

    function test_stake_emits() public {
        link.transfer(alice, 5 ether);
        vm.expectEmit(true, true, false, true, address(staking));
        emit NodeStaking.Staked(node, alice, 5 ether, 5 ether);
        vm.prank(alice);
        link.transferAndCall(node, 5 ether, STAKE);
    }

    function test_readStakerAmount() public {
        _stake(alice, 12.5 ether);
        _stake(bob, 0.75 ether);
        assertEq(pool.stakeOf(node, alice), 12.5 ether, "alice");
        assertEq(pool.stakeOf(node, bob), 0.75 ether, "bob");
        assertEq(pool.stakeOf(node, carol), 0, "carol never staked");
        assertEq(pool.totalStaked(node), 13.25 ether, "total");
    }

    function test_multipleStakes() public {
        _stake(alice, 100 ether);
        _stake(bob, 50 ether);
        _stake(alice, 25 ether);
        _stake(alice, 1);
        assertEq(pool.stakeOf(node, alice), 125 ether + 1, "alice adds up");
        assertEq(pool.stakeOf(node, bob), 50 ether, "bob");
        assertEq(pool.totalStaked(node), 175 ether + 1, "total");
        assertEq(pool.totalShares(node), 175 ether + 1, "shares");
    }

    function test_stake_zeroRefused() public {
        vm.prank(alice);
        vm.expectRevert(StakeLib.ZeroStake.selector);
        link.transferAndCall(node, 0, STAKE);
    }

    function test_stake_limit() public {
        vm.prank(operator);
        nodeLogic.setStakeLimit(node, 150 ether);
        _stake(alice, 100 ether);
        link.transfer(bob, 51 ether);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(StakeLib.StakeLimitExceeded.selector, node, 150 ether, 151 ether));
        link.transferAndCall(node, 51 ether, STAKE);
        _stake(bob, 50 ether);
        assertEq(pool.totalStaked(node), 150 ether, "filled to the limit");
    }

    function test_stake_toUnknownPayloadRefused() public {
        link.transfer(alice, 1 ether);
        vm.prank(alice);
        vm.expectRevert();
        link.transferAndCall(node, 1 ether, hex"deadbeef");
    }

    function test_stake_toPoolStorageRefused() public {
        address poolStorage = registry.poolStorage();
        link.transfer(alice, 1 ether);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(NodeStaking.NotNodeStorage.selector, poolStorage));
        link.transferAndCall(poolStorage, 1 ether, STAKE);
    }

    // ------------------------------------------------------------------ withdrawals

    function test_partialWithdrawal() public {
        _stake(alice, 100 ether);
        vm.prank(alice);
        nodeLogic.withdraw(node, 30 ether);
        assertEq(pool.stakeOf(node, alice), 70 ether, "left");
        assertEq(link.balanceOf(alice), 30 ether, "received");
        assertEq(pool.totalStaked(node), 70 ether, "total");
        assertEq(link.balanceOf(node), 70 ether, "node balance");
    }

    function test_fullWithdrawal() public {
        _stake(alice, 100 ether);
        _stake(bob, 40 ether);
        vm.prank(alice);
        nodeLogic.withdraw(node, 100 ether);
        assertEq(pool.stakeOf(node, alice), 0, "nothing left");
        assertEq(pool.sharesOf(node, alice), 0, "no shares");
        assertEq(link.balanceOf(alice), 100 ether, "all back");
        vm.prank(bob);
        uint256 paid = nodeLogic.withdrawAll(node);
        assertEq(paid, 40 ether, "bob all back");
        assertEq(pool.totalStaked(node), 0, "empty");
        assertEq(pool.totalShares(node), 0, "no shares");
        assertEq(link.balanceOf(node), 0, "node empty");
    }

    function test_withdrawAll_includesRewards() public {
        _stake(alice, 100 ether);
        _income(10 ether);
        _distribute();
        vm.prank(alice);
        uint256 paid = nodeLogic.withdrawAll(node);
        assertEq(paid, 108 ether, "stake + 80 % of the profit");
    }

    function test_withdraw_moreThanStakeRefused() public {
        _stake(alice, 10 ether);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Node.InsufficientStake.selector, 10 ether, 10 ether + 1));
        nodeLogic.withdraw(node, 10 ether + 1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Node.InsufficientStake.selector, 0, 1));
        nodeLogic.withdraw(node, 1);
        vm.prank(alice);
        vm.expectRevert(Node.ZeroAmount.selector);
        nodeLogic.withdraw(node, 0);
    }

    function test_withdraw_worksOnDisabledNode() public {
        _stake(alice, 10 ether);
        vm.prank(operator);
        nodeLogic.setEnabled(node, false);
        vm.prank(alice);
        nodeLogic.withdraw(node, 10 ether);
        assertEq(link.balanceOf(alice), 10 ether, "exit always works");
    }

    // ------------------------------------------------------------------ distribution

    function test_distribute_splitsFeeOwnersStakers() public {
        _stake(alice, 100 ether);
        _stake(bob, 300 ether);
        _income(40 ether);
        assertEq(pool.distributable(node), 40 ether, "profit seen");
        vm.prank(outsider); // anyone may distribute
        uint256 profit = nodeLogic.distribute(node);
        assertEq(profit, 40 ether, "profit");
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.operatorOwed, 4 ether, "10 % fee");
        assertEq(info.ownersOwed, 4 ether, "10 % owners");
        assertEq(pool.rewardsOf(node, alice), 8 ether, "alice 1/4 of 32");
        assertEq(pool.rewardsOf(node, bob), 24 ether, "bob 3/4 of 32");
        assertEq(pool.stakeOf(node, alice), 100 ether, "stake unchanged");
        assertEq(pool.distributable(node), 0, "nothing left");
        assertEq(_distribute(), 0, "second distribution finds nothing");
    }

    function test_distribute_incomeViaTransferAndCall() public {
        _stake(alice, 100 ether);
        link.transferAndCall(node, 10 ether, ""); // a payment with the ERC-677 hook
        market.setPayWithCallback(true);
        link.transfer(address(market), 0); // no-op, market already funded
        market.pay(node, 5 ether);
        vm.prank(operator);
        nodeLogic.forward(node, address(market), abi.encodeWithSignature("withdraw()"));
        assertEq(_distribute(), 15 ether, "both payments are profit");
        assertEq(pool.rewardsOf(node, alice), 12 ether, "80 %");
    }

    function test_claimRewards() public {
        _stake(alice, 100 ether);
        _income(50 ether);
        _distribute();
        vm.prank(alice);
        uint256 got = nodeLogic.claimRewards(node);
        assertEq(got, 40 ether, "claimed");
        assertEq(link.balanceOf(alice), 40 ether, "paid");
        assertEq(pool.rewardsOf(node, alice), 0, "nothing left");
        assertEq(pool.stakeOf(node, alice), 100 ether, "stake intact");
        vm.prank(alice);
        vm.expectRevert(Node.ZeroAmount.selector);
        nodeLogic.claimRewards(node);
    }

    /// Rewards credited to earlier stakers are not diluted by later stakers.
    function test_distribute_lateStakerGetsOnlyLaterProfit() public {
        _stake(alice, 100 ether);
        _income(10 ether);
        _distribute();
        _stake(bob, 100 ether);
        _income(10 ether);
        _distribute();
        assertEq(pool.rewardsOf(node, alice), 8 ether + 4 ether, "alice: all of round 1, half of round 2");
        assertEq(pool.rewardsOf(node, bob), 4 ether, "bob: half of round 2");
    }

    /// Distributed rewards restaked by every staker keep their shares proportional.
    function test_restake_addsSharesBackProportionately() public {
        _stake(alice, 100 ether);
        _stake(bob, 300 ether);
        _income(50 ether); // stakers get 40
        _distribute();
        vm.prank(alice);
        uint256 a = nodeLogic.restake(node);
        vm.prank(bob);
        uint256 b = nodeLogic.restake(node);
        assertEq(a, 10 ether, "alice restaked 1/4");
        assertEq(b, 30 ether, "bob restaked 3/4");
        assertEq(pool.stakeOf(node, alice), 110 ether, "alice stake");
        assertEq(pool.stakeOf(node, bob), 330 ether, "bob stake");
        assertEq(pool.sharesOf(node, bob), 3 * pool.sharesOf(node, alice), "shares stay 1:3");
        assertEq(pool.totalStaked(node), 440 ether, "total");
        assertEq(pool.nodeInfo(node).rewardReserve, 0, "reserve emptied into stake");
        assertEq(link.balanceOf(node), 440 ether + 10 ether, "fee + owners still held");
        // The next profit follows the new proportions.
        _income(55 ether); // stakers get 44
        _distribute();
        assertEq(pool.rewardsOf(node, alice), 11 ether, "1/4");
        assertEq(pool.rewardsOf(node, bob), 33 ether, "3/4");
    }

    function _unevenStakes() private returns (uint256 profit) {
        _stake(alice, 1234.567 ether);
        _stake(bob, 0.987_654_32 ether);
        _stake(carol, 0.3 ether);
        profit = 777.777_777 ether;
        _income(profit);
        _distribute();
    }

    /// D = S/T x O with uneven stakes, exact to 3 decimal places (expected values by hand: 0.8 x 777.777777 x S/T).
    function test_distribution_exactTo3Decimals() public {
        _unevenStakes();
        assertEq(pool.rewardsOf(node, alice) / 1e15, 621_573, "alice 621.573");
        assertEq(pool.rewardsOf(node, bob) / 1e15, 497, "bob 0.497");
        assertEq(pool.rewardsOf(node, carol) / 1e15, 151, "carol 0.151");
    }

    function test_distribution_exactTo5Decimals() public {
        _unevenStakes();
        assertEq(pool.rewardsOf(node, alice) / 1e13, 62_157_391, "alice 621.57391");
        assertEq(pool.rewardsOf(node, bob) / 1e13, 49_725, "bob 0.49725");
        assertEq(pool.rewardsOf(node, carol) / 1e13, 15_104, "carol 0.15104");
    }

    function test_distribution_exactTo7Decimals() public {
        _unevenStakes();
        assertEq(pool.rewardsOf(node, alice) / 1e11, 6_215_739_195, "alice 621.5739195");
        assertEq(pool.rewardsOf(node, bob) / 1e11, 4_972_594, "bob 0.4972594");
        assertEq(pool.rewardsOf(node, carol) / 1e11, 1_510_425, "carol 0.1510425");
    }

    /// Exact to the juel: every staker's reward is floor(part x S / T) or one juel less.
    function test_distribution_exactToTheJuel() public {
        uint256 profit = _unevenStakes();
        uint256 part = _stakersPart(profit);
        uint256 total = pool.totalStaked(node);
        address[3] memory stakers = [alice, bob, carol];
        uint256 sum;
        for (uint256 i = 0; i < 3; ++i) {
            uint256 expected = part * pool.stakeOf(node, stakers[i]) / total;
            uint256 got = pool.rewardsOf(node, stakers[i]);
            assertLe(got, expected, "never more than the exact share");
            assertLe(expected - got, 1, "at most one juel short");
            sum += got;
        }
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.rewardReserve, part, "reserve is the stakers' part");
        assertLe(part - sum, 3, "dust: below one juel per staker");
    }

    // ------------------------------------------------------------------ operator

    function test_operatorFees() public {
        _stake(alice, 100 ether);
        _income(20 ether);
        _distribute();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, alice));
        nodeLogic.withdrawOperatorFees(node);
        vm.prank(operator);
        uint256 fees = nodeLogic.withdrawOperatorFees(node);
        assertEq(fees, 2 ether, "10 %");
        assertEq(link.balanceOf(operator), 2 ether, "paid");
    }

    function test_setOperatorFee_distributesAtOldRateFirst() public {
        _stake(alice, 100 ether);
        _income(10 ether);
        vm.prank(operator);
        nodeLogic.setOperatorFee(node, 5000);
        assertEq(pool.nodeInfo(node).operatorOwed, 1 ether, "old 10 % on the earlier profit");
        _income(10 ether);
        _distribute();
        assertEq(pool.nodeInfo(node).operatorOwed, 6 ether, "new 50 % on the later profit");
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Node.FeeTooHigh.selector, 5001, 5000));
        nodeLogic.setOperatorFee(node, 5001);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, outsider));
        nodeLogic.setOperatorFee(node, 0);
    }

    function test_setOperator_onlyPoolOwner() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Node.NotPoolOwner.selector, operator));
        nodeLogic.setOperator(node, bob);
        _stake(alice, 100 ether);
        _income(10 ether); // not yet distributed: the old operator's fee is settled first
        vm.prank(poolOwner);
        nodeLogic.setOperator(node, bob);
        assertEq(pool.nodeInfo(node).operator, bob, "replaced");
        assertEq(link.balanceOf(operator), 1 ether, "old operator paid its fees");
        assertEq(pool.nodeInfo(node).operatorOwed, 0, "nothing owed");
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, operator));
        nodeLogic.setStakeLimit(node, 0);
    }

    // ------------------------------------------------------------------ disable / private

    function test_disableNode() public {
        _stake(alice, 10 ether);
        vm.prank(operator);
        nodeLogic.setEnabled(node, false);
        assertTrue(!pool.nodeInfo(node).enabled, "disabled");
        assertTrue(!pool.canStake(node, bob), "cannot stake");
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperatorOrOwner.selector, outsider));
        nodeLogic.setEnabled(node, true);
        vm.prank(poolOwner); // the pool owner may too
        nodeLogic.setEnabled(node, true);
        assertTrue(pool.nodeInfo(node).enabled, "enabled again");
    }

    function test_stakeToDisabledNodeRefused() public {
        vm.prank(poolOwner);
        nodeLogic.setEnabled(node, false);
        link.transfer(alice, 10 ether);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(StakeLib.NodeDisabled.selector, node));
        link.transferAndCall(node, 10 ether, STAKE);
        assertEq(link.balanceOf(alice), 10 ether, "LINK stays with alice");
    }

    function test_restakeOnDisabledNodeRefused() public {
        _stake(alice, 10 ether);
        _income(10 ether);
        _distribute();
        vm.prank(operator);
        nodeLogic.setEnabled(node, false);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(StakeLib.NodeDisabled.selector, node));
        nodeLogic.restake(node);
    }

    function _privateNode() private returns (address priv) {
        vm.prank(poolOwner);
        priv = factory.createNode(operator, true, FEE_BPS, LIMIT);
    }

    function test_privateNode_addStaker() public {
        address priv = _privateNode();
        vm.expectEmit(true, true, false, true, address(nodeLogic));
        emit Node.StakerAllowed(priv, alice, true);
        vm.prank(operator);
        nodeLogic.setStakerAllowed(priv, alice, true);
        assertTrue(pool.isAllowed(priv, alice), "allowed");
        _stakeOn(priv, alice, 10 ether);
        assertEq(pool.stakeOf(priv, alice), 10 ether, "staked");
    }

    function test_privateNode_refusesStakerNotAllowed() public {
        address priv = _privateNode();
        link.transfer(bob, 10 ether);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(StakeLib.StakerNotAllowed.selector, priv, bob));
        link.transferAndCall(priv, 10 ether, STAKE);
        // Only the operator manages the list.
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, bob));
        nodeLogic.setStakerAllowed(priv, bob, true);
        vm.prank(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, poolOwner));
        nodeLogic.setStakerAllowed(priv, bob, true);
    }

    function test_privateNode_removedStakerKeepsStakeButCannotAdd() public {
        address priv = _privateNode();
        vm.prank(operator);
        nodeLogic.setStakerAllowed(priv, alice, true);
        _stakeOn(priv, alice, 10 ether);
        vm.prank(operator);
        nodeLogic.setStakerAllowed(priv, alice, false);
        link.transfer(alice, 1 ether);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(StakeLib.StakerNotAllowed.selector, priv, alice));
        link.transferAndCall(priv, 1 ether, STAKE);
        vm.prank(alice);
        nodeLogic.withdraw(priv, 10 ether);
        assertEq(link.balanceOf(alice), 11 ether, "exit still works");
    }

    function test_setPrivate_makesPublicNodePrivate() public {
        vm.prank(operator);
        nodeLogic.setPrivate(node, true);
        assertTrue(!pool.canStake(node, alice), "now private");
        vm.prank(operator);
        nodeLogic.setPrivate(node, false);
        assertTrue(pool.canStake(node, alice), "public again");
    }

    // ------------------------------------------------------------------ owners

    function test_ownersWithdrawShare() public {
        address coOwner = makeAddr("coOwner");
        vm.prank(poolOwner);
        owners.setOwnership(poolOwner, 3);
        vm.prank(poolOwner);
        owners.setOwnership(coOwner, 1);
        _stake(alice, 100 ether);
        _income(1000 ether);
        _distribute();
        assertEq(pool.nodeInfo(node).ownersOwed, 100 ether, "10 %");
        vm.prank(outsider); // anyone collects
        assertEq(owners.collect(node), 100 ether, "collected");
        assertEq(link.balanceOf(registry.poolStorage()), 100 ether, "in the pot");
        assertEq(owners.withdrawableOf(poolOwner), 75 ether, "3/4");
        assertEq(owners.withdrawableOf(coOwner), 25 ether, "1/4");
        vm.prank(poolOwner);
        assertEq(owners.withdraw(), 75 ether, "owner paid");
        vm.prank(coOwner);
        assertEq(owners.withdraw(), 25 ether, "co-owner paid");
        assertEq(link.balanceOf(poolOwner), 75 ether, "owner balance");
        assertEq(link.balanceOf(coOwner), 25 ether, "co-owner balance");
        vm.prank(outsider);
        vm.expectRevert(PoolOwners.ZeroAmount.selector);
        owners.withdraw();
        assertEq(pool.stakeOf(node, alice), 100 ether, "stake untouched");
    }

    function test_owners_ownershipChangeKeepsEarnings() public {
        address coOwner = makeAddr("coOwner");
        _stake(alice, 100 ether);
        _income(100 ether);
        _distribute();
        owners.collect(node); // 10 LINK, all to poolOwner (1 unit)
        vm.prank(poolOwner);
        owners.setOwnership(coOwner, 1);
        _income(100 ether);
        _distribute();
        owners.collect(node); // 10 LINK, half each
        assertEq(owners.withdrawableOf(poolOwner), 15 ether, "10 + 5");
        assertEq(owners.withdrawableOf(coOwner), 5 ether, "5");
    }

    function test_owners_shareHeldWhileNobodyOwns() public {
        vm.prank(poolOwner);
        owners.setOwnership(poolOwner, 0);
        _stake(alice, 100 ether);
        _income(100 ether);
        _distribute();
        owners.collect(node);
        assertEq(owners.reserve(), 10 ether, "held");
        assertEq(owners.withdrawableOf(poolOwner), 0, "nobody owns");
        vm.prank(poolOwner);
        owners.setOwnership(bob, 2);
        assertEq(owners.withdrawableOf(bob), 10 ether, "new owner gets the held share");
    }

    function test_owners_onlyPoolOwnerManages() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(PoolOwners.NotPoolOwner.selector, outsider));
        owners.setOwnership(outsider, 100);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(PoolOwners.NotPoolOwner.selector, outsider));
        owners.setOwnersShare(0);
        vm.prank(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(PoolOwners.ShareTooHigh.selector, 5001, 5000));
        owners.setOwnersShare(5001);
    }

    // ------------------------------------------------------------------ zero stake, dust

    function test_rewardsWithZeroStakeAreHeld() public {
        _income(100 ether);
        assertEq(_distribute(), 100 ether, "profit split although nobody staked");
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.rewardReserve, 80 ether, "stakers' part held");
        assertEq(info.pending, 80 ether * PoolKeys.SCALE, "not allocated");
        assertEq(info.accRewardPerShare, 0, "no division by zero");
        _stake(alice, 1 ether);
        _distribute();
        assertEq(pool.rewardsOf(node, alice), 80 ether, "the next staker gets the held part");
    }

    function test_dustIsCarriedNotLost() public {
        // Three stakers of 1 juel each; profits of 1 juel cannot be split, the remainder is carried.
        vm.prank(operator);
        nodeLogic.setOperatorFee(node, 0);
        vm.prank(poolOwner);
        owners.setOwnersShare(0);
        _stake(alice, 1);
        _stake(bob, 1);
        _stake(carol, 1);
        for (uint256 i = 0; i < 3; ++i) {
            _income(1);
            _distribute();
            LinkPool.NodeInfo memory info = pool.nodeInfo(node);
            uint256 credits =
                pool.rewardsScaledOf(node, alice) + pool.rewardsScaledOf(node, bob) + pool.rewardsScaledOf(node, carol);
            assertEq(credits + info.pending, info.rewardReserve * PoolKeys.SCALE, "exact books");
            assertLt(info.pending, 3, "remainder below one unit per share");
        }
        // The carried remainders add up: after three juels each staker has exactly one.
        assertEq(pool.rewardsOf(node, alice), 1, "alice");
        assertEq(pool.rewardsOf(node, bob), 1, "bob");
        assertEq(pool.rewardsOf(node, carol), 1, "carol");
        assertEq(pool.nodeInfo(node).pending, 0, "nothing left over");
        assertEq(pool.nodeInfo(node).rewardReserve, 3, "three juels owed");
    }
}
