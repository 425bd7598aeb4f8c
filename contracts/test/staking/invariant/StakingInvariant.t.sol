// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {StakingFixture} from "../StakingFixture.sol";
import {StakingHandler} from "./StakingHandler.sol";
import {LinkPool} from "../../../src/staking/LinkPool.sol";
import {PoolKeys} from "../../../src/staking/PoolKeys.sol";
import {MockMarket} from "../mocks/MockMarket.sol";

/// Invariants of a node's books under random call sequences (with time warps).
contract StakingInvariantTest is StakingFixture {
    StakingHandler internal handler;
    MockMarket internal decoy;

    function setUp() public override {
        super.setUp();
        decoy = new MockMarket(link);
        handler = new StakingHandler(link, registry, pool, nodeLogic, owners, market, decoy, node, operator, poolOwner);
        link.transfer(address(handler), 100_000_000 ether);
        bytes4[] memory selectors = new bytes4[](16);
        selectors[0] = StakingHandler.stake.selector;
        selectors[1] = StakingHandler.withdraw.selector;
        selectors[2] = StakingHandler.withdrawAll.selector;
        selectors[3] = StakingHandler.claim.selector;
        selectors[4] = StakingHandler.restake.selector;
        selectors[5] = StakingHandler.income.selector;
        selectors[6] = StakingHandler.distribute.selector;
        selectors[7] = StakingHandler.bid.selector;
        selectors[8] = StakingHandler.settle.selector;
        selectors[9] = StakingHandler.operatorFees.selector;
        selectors[10] = StakingHandler.setFee.selector;
        selectors[11] = StakingHandler.toggleEnabled.selector;
        selectors[12] = StakingHandler.ownersCollectAndWithdraw.selector;
        selectors[13] = StakingHandler.steal.selector;
        selectors[14] = StakingHandler.warp.selector;
        selectors[15] = StakingHandler.stake.selector; // staking twice as likely
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// The stakers' shares add up to the node's total shares exactly, and their stakes add up to
    /// the node's total stake: exactly while no slash happened, else up to one juel of rounding
    /// per staker (which stays in the node and goes to the last one out).
    function invariant_sumOfStakesIsNodeTotal() public view {
        uint256 shares;
        uint256 stakes;
        uint256 n = handler.actorCount();
        for (uint256 i = 0; i < n; ++i) {
            shares += pool.sharesOf(node, handler.actors(i));
            stakes += pool.stakeOf(node, handler.actors(i));
        }
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(shares, info.totalShares, "sum of shares = total shares");
        assertLe(stakes, info.totalStaked, "sum of stakes <= total");
        assertLe(info.totalStaked - stakes, n, "rounding dust <= one juel per staker");
        if (handler.ghostSlashed() == 0) assertEq(stakes, info.totalStaked, "exact without slashes");
    }

    /// The node always holds what it owes: stake (counting deposits out in the network) plus
    /// unclaimed rewards, fees and owners' share; and what it owes beyond stake is liquid.
    function invariant_balanceCoversStakeAndRewards() public view {
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        uint256 owed = info.rewardReserve + info.operatorOwed + info.ownersOwed;
        assertGe(info.balance + info.locked, info.totalStaked + owed, "balance + locked >= staked + unclaimed");
        assertGe(info.balance, owed, "unclaimed rewards are liquid");
        assertGe(link.balanceOf(registry.poolStorage()), owners.reserve(), "owners' pot covered");
    }

    /// Rewards books are exact: credits (scaled) plus the unallocated remainder equal the reserve.
    function invariant_rewardBooksExact() public view {
        uint256 credits;
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            credits += pool.rewardsScaledOf(node, handler.actors(i));
        }
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(credits + info.pending, info.rewardReserve * PoolKeys.SCALE, "credits + pending = reserve");
    }

    /// Nothing is distributed that was not deposited, and stakers never claim more than was
    /// distributed to them.
    function invariant_distributedAtMostDeposited() public view {
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertLe(info.totalDistributed, handler.ghostIncome(), "distributed <= received");
        assertLe(handler.ghostClaimed(), info.totalDistributed, "claimed <= distributed");
    }

    /// No sequence of calls moves LINK to an address that is neither whitelisted nor entitled:
    /// every theft attempt failed, the non-whitelisted contract and the attacker got nothing,
    /// and all LINK is where the books say.
    function invariant_noTokensToNonWhitelisted() public view {
        assertEq(handler.ghostBreaches(), 0, "no theft attempt went through");
        assertEq(link.balanceOf(address(decoy)), 0, "non-whitelisted contract got nothing");
        assertEq(link.balanceOf(handler.attacker()), 0, "attacker got nothing");
        uint256 held = link.balanceOf(address(this)) + link.balanceOf(address(handler)) + link.balanceOf(node)
            + link.balanceOf(registry.poolStorage()) + link.balanceOf(address(market))
            + link.balanceOf(market.PURCHASER()) + link.balanceOf(operator) + link.balanceOf(poolOwner);
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            held += link.balanceOf(handler.actors(i));
        }
        assertEq(held, link.totalSupply(), "every juel accounted for");
    }
}
