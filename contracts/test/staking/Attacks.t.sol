// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {StakingFixture} from "./StakingFixture.sol";
import {LinkPool} from "../../src/staking/LinkPool.sol";
import {Node} from "../../src/staking/Node.sol";
import {NodeStaking} from "../../src/staking/NodeStaking.sol";
import {PoolStorage} from "../../src/staking/PoolStorage.sol";
import {PoolRegistry} from "../../src/staking/PoolRegistry.sol";
import {PoolKeys, PoolNames} from "../../src/staking/PoolKeys.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {ReentrantMarket} from "./mocks/ReentrantMarket.sol";
import {HookedStaker} from "./mocks/HookedStaker.sol";

/// @dev Calls `NodeStaking.onStake` pretending to be a node storage.
contract FakeStorage {
    function attack(NodeStaking staking, address staker) external {
        staking.onStake(staker, 1e27);
    }
}

/// Inflation, rounding, zero-stake, reentrancy and unauthorised-movement attacks.
contract AttacksTest is StakingFixture {
    // ------------------------------------------------------------------ first depositor / donation

    /// The classic share-inflation attack: a 1-juel first stake plus a large donation. Shares
    /// are priced from internal accounting (not `balanceOf`), so the victim still gets 1:1 and
    /// the donation is just profit shared by stake, mostly to the victim.
    function test_firstDepositorInflationFails() public {
        address attacker = makeAddr("attacker");
        _stakeOn(node, attacker, 1);
        link.transfer(attacker, 1000 ether);
        vm.prank(attacker);
        link.transfer(node, 1000 ether); // donation
        _stake(alice, 1000 ether);
        assertEq(pool.sharesOf(node, alice), 1000 ether, "victim gets full shares");
        assertEq(pool.stakeOf(node, alice), 1000 ether, "victim's stake intact");
        assertEq(pool.stakeOf(node, attacker), 1, "attacker still 1 juel");
        // The donation arrived before alice joined: it is profit of the stakers then in (the
        // attacker), split before alice's shares were minted. Alice neither gains nor loses.
        _distribute();
        assertEq(pool.rewardsOf(node, alice), 0, "victim gets no part of an earlier donation");
        vm.prank(alice);
        assertEq(nodeLogic.withdrawAll(node), 1000 ether, "victim withdraws exactly her stake");
        vm.prank(attacker);
        nodeLogic.withdrawAll(node);
        assertLt(link.balanceOf(attacker), 1000 ether + 1, "attacker gets back at most its donation (less fees)");
    }

    /// Donating with the ERC-677 hook is the same as a plain transfer: profit, not stake.
    /// Staking just before a distribution does not capture profit that arrived earlier: the stake
    /// distributes first, then mints shares.
    function test_flashStakeDoesNotSnipeRewards() public {
        _stake(alice, 100 ether);
        link.transfer(node, 10 ether); // income before the sniper joins
        address sniper = makeAddr("sniper");
        link.transfer(sniper, 900 ether);
        vm.startPrank(sniper);
        link.transferAndCall(node, 900 ether, STAKE);
        nodeLogic.distribute(node);
        uint256 got = nodeLogic.withdrawAll(node);
        vm.stopPrank();
        assertEq(got, 900 ether, "sniper gets its stake back and nothing more");
        assertGt(pool.rewardsOf(node, alice), 7 ether, "alice keeps the stakers' part of the income");
    }

    function test_donationViaTransferAndCallIsProfit() public {
        _stake(alice, 10 ether);
        link.transferAndCall(node, 5 ether, "");
        assertEq(pool.totalStaked(node), 10 ether, "stake not inflated");
        assertEq(pool.distributable(node), 5 ether, "profit");
    }

    // ------------------------------------------------------------------ rounding to zero

    /// A 1-juel staker next to a whale still earns its (sub-juel) part: credits are kept at 1e-36
    /// precision and nothing rounds away.
    function test_tinyRewardsDoNotRoundToZero() public {
        vm.prank(operator);
        nodeLogic.setOperatorFee(node, 0);
        vm.prank(poolOwner);
        owners.setOwnersShare(0);
        _stake(alice, 1);
        _stake(bob, 1e23);
        for (uint256 i = 0; i < 5; ++i) {
            _income(1000);
            _distribute();
        }
        uint256 scaled = pool.rewardsScaledOf(node, alice);
        assertGt(scaled, 0, "alice's credit is not zero");
        uint256 exact = uint256(5000) * 1e36 / (1e23 + 1);
        assertLe(_absDiff(scaled, exact), 5, "5000 juels x 1/(1e23+1), to 1e-36 juel per distribution");
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(
            pool.rewardsScaledOf(node, alice) + pool.rewardsScaledOf(node, bob) + info.pending,
            info.rewardReserve * PoolKeys.SCALE,
            "nothing lost"
        );
        assertEq(info.rewardReserve, 5000, "all 5000 juels owed to stakers");
    }

    // ------------------------------------------------------------------ reentrancy

    function _reentrantMarket() internal returns (ReentrantMarket evil) {
        evil = new ReentrantMarket(link);
        link.transfer(address(evil), 10 ether);
        // Staked before it is whitelisted (LINK a network contract sends is a payment, not a stake),
        // so it has stake and rewards to try to take.
        evil.stakeOn(node, 10 ether);
        vm.prank(poolOwner);
        registry.addToWhitelist(address(evil));
        _income(10 ether);
        _distribute();
        evil.arm(nodeLogic, node);
    }

    /// Every state-changing re-entry was refused as re-entrancy. Two calls may go through
    /// harmlessly: `distribute` when there is nothing to write, and the "stake", which from a
    /// network contract is just a payment (no shares).
    function _assertAttackFailed(ReentrantMarket evil) internal view {
        assertEq(evil.attempts(), 8, "eight re-entries tried");
        for (uint256 i = 0; i < 8; ++i) {
            if (i == 2 || i == 5) continue;
            assertTrue(!evil.results(i), "refused");
            assertTrue(evil.revertSelectors(i) == PoolStorage.Reentrancy.selector, "as re-entrancy");
        }
    }

    /// A whitelisted contract re-entering from the ERC-677 callback of a bid gets nothing through.
    function test_reentrancyThroughBidCallbackFails() public {
        _stake(alice, 100 ether);
        ReentrantMarket evil = _reentrantMarket();
        uint256 stakeBefore = pool.stakeOf(node, address(evil));
        uint256 rewardsBefore = pool.rewardsOf(node, address(evil));
        vm.prank(operator);
        nodeLogic.bid(node, address(evil), 5 ether, abi.encodeCall(ISlaMarket.bid, (1)));
        _assertAttackFailed(evil);
        assertEq(pool.stakeOf(node, address(evil)), stakeBefore, "stake unchanged");
        assertEq(pool.rewardsOf(node, address(evil)), rewardsBefore, "rewards unchanged");
        assertEq(evil.deposits(node), 5 ether, "the bid itself went through");
        assertEq(pool.nodeInfo(node).locked, 5 ether, "and is accounted");
    }

    /// The same through a forwarded call (e.g. commit).
    function test_reentrancyThroughForwardedCallFails() public {
        _stake(alice, 100 ether);
        ReentrantMarket evil = _reentrantMarket();
        vm.prank(operator);
        nodeLogic.forward(node, address(evil), abi.encodeCall(ISlaMarket.commit, (1, 0, bytes32(0))));
        _assertAttackFailed(evil);
        assertEq(pool.stakeOf(node, address(evil)), 10 ether, "stake unchanged");
    }

    /// Stakers are paid with plain transfers: a staker contract's ERC-677 hook never runs, so it
    /// cannot re-enter while being paid.
    function test_stakerContractCannotReenterOnPayout() public {
        HookedStaker staker = new HookedStaker(link, nodeLogic, node);
        link.transfer(address(staker), 10 ether);
        staker.stake(10 ether);
        _income(10 ether);
        _distribute();
        staker.withdraw(1 ether);
        staker.withdrawAll();
        assertEq(staker.hookCalls(), 0, "no callback on payout");
        assertTrue(!staker.nestedSucceeded(), "no nested withdrawal");
        assertEq(link.balanceOf(address(staker)), 18 ether, "stake + 80 % of 10");
        assertEq(pool.stakeOf(node, address(staker)), 0, "fully out");
    }

    // ------------------------------------------------------------------ spoofing

    function test_onStakeOnlyFromNodeStorage() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(NodeStaking.NotNodeStorage.selector, outsider));
        staking.onStake(outsider, 1e27);
        FakeStorage fake = new FakeStorage();
        vm.expectRevert(abi.encodeWithSelector(NodeStaking.NotNodeStorage.selector, address(fake)));
        fake.attack(staking, outsider);
    }

    function test_onTokenTransferOnlyFromLink() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.OnlyLinkToken.selector, outsider));
        PoolStorage(node).onTokenTransfer(outsider, 1e27, STAKE);
        assertEq(pool.stakeOf(node, outsider), 0, "no free stake");
    }

    // ------------------------------------------------------------------ nobody moves staked LINK

    function test_storageWritesOnlyByLogic() public {
        _stake(alice, 100 ether);
        address[3] memory callers = [outsider, poolOwner, operator];
        for (uint256 i = 0; i < callers.length; ++i) {
            vm.startPrank(callers[i]);
            vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotLogic.selector, callers[i]));
            PoolStorage(node).transferLink(callers[i], 100 ether);
            vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotLogic.selector, callers[i]));
            PoolStorage(node).bid(address(market), 100 ether, abi.encodeCall(ISlaMarket.bid, (1)));
            vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotLogic.selector, callers[i]));
            PoolStorage(node).setUint(PoolKeys.TOTAL_STAKED, 0);
            vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotLogic.selector, callers[i]));
            PoolStorage(node).setAddress(PoolKeys.OPERATOR, callers[i]);
            vm.stopPrank();
        }
        assertEq(link.balanceOf(node), 100 ether, "nothing moved");
    }

    /// The pool owner has no path to stakers' LINK: not through the storage, not through the
    /// node logic, not by whitelisting the token, an account or a storage.
    function test_ownerCannotMoveStake() public {
        _stake(alice, 100 ether);
        vm.startPrank(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, poolOwner));
        nodeLogic.bid(node, address(market), 100 ether, abi.encodeCall(ISlaMarket.bid, (1)));
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, poolOwner));
        nodeLogic.withdrawOperatorFees(node);
        vm.expectRevert(abi.encodeWithSelector(Node.InsufficientStake.selector, 0, 100 ether));
        nodeLogic.withdraw(node, 100 ether);
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.ForbiddenAddress.selector, address(link)));
        registry.addToWhitelist(address(link));
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.NotAContract.selector, poolOwner));
        registry.addToWhitelist(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.ForbiddenAddress.selector, node));
        registry.addToWhitelist(node);
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.ForbiddenAddress.selector, address(staking)));
        registry.addToWhitelist(address(staking));
        vm.stopPrank();
        assertEq(link.balanceOf(node), 100 ether, "nothing moved");
        assertEq(pool.stakeOf(node, alice), 100 ether, "alice intact");
    }

    /// Stakers take only their own stake and rewards.
    function test_stakerTakesOnlyOwn() public {
        _stake(alice, 100 ether);
        _stake(bob, 50 ether);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Node.InsufficientStake.selector, 50 ether, 100 ether));
        nodeLogic.withdraw(node, 100 ether);
        vm.prank(bob);
        nodeLogic.withdrawAll(node);
        assertEq(link.balanceOf(bob), 50 ether, "own stake only");
        assertEq(pool.stakeOf(node, alice), 100 ether, "alice intact");
    }

    /// A logic contract replaced in the registry loses write access at once.
    function test_replacedLogicLosesAccess() public {
        _stake(alice, 100 ether);
        Node newNode = new Node(address(registry));
        vm.prank(poolOwner);
        registry.setLogic(PoolNames.NODE, address(newNode));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotLogic.selector, address(nodeLogic)));
        nodeLogic.withdraw(node, 1 ether);
        vm.prank(alice);
        newNode.withdraw(node, 1 ether);
        assertEq(link.balanceOf(alice), 1 ether, "through the new logic");
    }
}
