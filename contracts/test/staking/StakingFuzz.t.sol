// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {StakingFixture} from "./StakingFixture.sol";
import {LinkPool} from "../../src/staking/LinkPool.sol";
import {PoolKeys} from "../../src/staking/PoolKeys.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";

/// Property tests of the accounting with fuzzed amounts.
contract StakingFuzzTest is StakingFixture {
    /// D = S/T x O for every staker, to the juel, with nothing created.
    function testFuzz_distributionIsProportional(uint256 a, uint256 b, uint256 c, uint256 profit) public {
        a = bound(a, 1, 300_000 ether);
        b = bound(b, 1, 300_000 ether);
        c = bound(c, 1, 300_000 ether);
        profit = bound(profit, 0, 10_000_000 ether);
        _stake(alice, a);
        _stake(bob, b);
        _stake(carol, c);
        _income(profit);
        _distribute();
        uint256 part = _stakersPart(profit);
        uint256 total = a + b + c;
        uint256[3] memory stakes = [a, b, c];
        address[3] memory who = [alice, bob, carol];
        uint256 sum;
        for (uint256 i = 0; i < 3; ++i) {
            uint256 exact = part * stakes[i] / total;
            uint256 got = pool.rewardsOf(node, who[i]);
            assertLe(got, exact, "never more than D");
            assertLe(exact - got, 1, "at most one juel below D");
            sum += got;
        }
        assertLe(sum, part, "nothing created");
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.rewardReserve, part, "reserve = stakers' part");
        assertEq(info.operatorOwed + info.ownersOwed + part, profit, "split adds up");
    }

    /// Stake then withdraw any part: exact amounts both ways.
    function testFuzz_stakeWithdrawRoundTrip(uint256 amount, uint256 out, uint256 other) public {
        amount = bound(amount, 1, 500_000 ether);
        other = bound(other, 0, 400_000 ether);
        out = bound(out, 1, amount);
        if (other != 0) _stake(bob, other);
        _stake(alice, amount);
        assertEq(pool.stakeOf(node, alice), amount, "staked");
        vm.prank(alice);
        nodeLogic.withdraw(node, out);
        assertEq(link.balanceOf(alice), out, "received");
        assertEq(pool.stakeOf(node, alice), amount - out, "left");
        assertEq(pool.stakeOf(node, bob), other, "bob untouched");
        assertEq(pool.totalStaked(node), amount - out + other, "total");
    }

    /// A slash takes the same fraction from everyone (to one juel), never more than the forfeit.
    function testFuzz_slashIsProportional(uint256 a, uint256 b, uint256 forfeit) public {
        a = bound(a, 1 ether, 400_000 ether);
        b = bound(b, 1 ether, 400_000 ether);
        uint256 total = a + b;
        forfeit = bound(forfeit, 1, total - total / 1e6); // leaves enough not to wipe
        _stake(alice, a);
        _stake(bob, b);
        vm.prank(operator);
        uint256 id = nodeLogic.bid(node, address(market), forfeit, abi.encodeCall(ISlaMarket.bid, (1)));
        market.forfeit(node, forfeit);
        vm.prank(operator);
        nodeLogic.settleBid(node, id, forfeit);
        uint256 left = total - forfeit;
        assertEq(pool.totalStaked(node), left, "total reduced by the forfeit");
        assertLe(_absDiff(pool.stakeOf(node, alice), a * left / total), 1, "alice proportional");
        assertLe(_absDiff(pool.stakeOf(node, bob), b * left / total), 1, "bob proportional");
        assertLe(pool.stakeOf(node, alice) + pool.stakeOf(node, bob), left, "never more than left");
        vm.prank(alice);
        nodeLogic.withdrawAll(node);
        vm.prank(bob);
        nodeLogic.withdrawAll(node);
        assertEq(link.balanceOf(alice) + link.balanceOf(bob), left, "exits take exactly what is left");
    }

    /// A donation before the victim's stake never reduces the victim's stake or shares.
    function testFuzz_donationCannotInflateShares(uint256 first, uint256 donation, uint256 victim) public {
        first = bound(first, 1, 1000 ether);
        donation = bound(donation, 0, 100_000 ether);
        victim = bound(victim, 1, 100_000 ether);
        _stake(outsider, first);
        _income(donation);
        _stake(alice, victim);
        assertEq(pool.stakeOf(node, alice), victim, "full value");
        assertEq(pool.sharesOf(node, alice), victim, "1:1 shares");
        _distribute();
        // The donation came before the victim's stake: it belongs to the stakers then in.
        assertEq(pool.rewardsOf(node, alice), 0, "victim takes no part of an earlier donation");
        assertLe(
            _absDiff(pool.rewardsOf(node, outsider), _stakersPart(donation)), 1, "first staker gets the stakers' part"
        );
    }

    /// Everyone restaking their rewards keeps the proportions of shares and stakes.
    function testFuzz_restakeKeepsProportions(uint256 a, uint256 profit) public {
        a = bound(a, 1 ether, 100_000 ether);
        profit = bound(profit, 1 ether, 100_000 ether);
        _stake(alice, a);
        _stake(bob, 3 * a);
        _income(profit);
        _distribute();
        vm.prank(alice);
        nodeLogic.restake(node);
        vm.prank(bob);
        nodeLogic.restake(node);
        uint256 sa = pool.stakeOf(node, alice);
        uint256 sb = pool.stakeOf(node, bob);
        assertLe(_absDiff(sb, 3 * sa), 3, "1:3 kept");
        assertLe(_absDiff(sa + sb, 4 * a + _stakersPart(profit)), 2, "rewards became stake");
    }

    /// The owners' pot is split by units.
    function testFuzz_ownersSplit(uint256 u1, uint256 u2, uint256 profit) public {
        u1 = bound(u1, 1, 1e30);
        u2 = bound(u2, 1, 1e30);
        profit = bound(profit, 1 ether, 1_000_000 ether);
        address co = makeAddr("co");
        vm.startPrank(poolOwner);
        owners.setOwnership(poolOwner, u1);
        owners.setOwnership(co, u2);
        vm.stopPrank();
        _stake(alice, 1 ether);
        _income(profit);
        _distribute();
        owners.collect(node);
        uint256 pot = profit * OWNERS_BPS / 10_000;
        uint256 w1 = owners.withdrawableOf(poolOwner);
        uint256 w2 = owners.withdrawableOf(co);
        assertLe(w1 + w2, pot, "nothing created");
        assertLe(pot - (w1 + w2), 2, "at most a juel each short");
        assertLe(_absDiff(w1, pot * u1 / (u1 + u2)), 1, "owner by units");
        assertEq(owners.reserve(), pot, "pot");
        assertGe(link.balanceOf(registry.poolStorage()), pot, "held");
        assertEq(PoolKeys.SCALE, 1e36, "scale");
    }
}
