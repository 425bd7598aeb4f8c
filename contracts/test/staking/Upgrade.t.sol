// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {StakingFixture} from "./StakingFixture.sol";
import {LinkPool} from "../../src/staking/LinkPool.sol";
import {Node} from "../../src/staking/Node.sol";
import {PoolStorage} from "../../src/staking/PoolStorage.sol";
import {PoolNames} from "../../src/staking/PoolKeys.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {UpgradeNode} from "../../script/UpgradeNode.s.sol";

/// @dev A later Node version: same storage keys, one new function.
contract NodeV2 is Node {
    constructor(address registry_) Node(registry_) {}

    function version() external pure returns (uint256) {
        return 2;
    }
}

/// Replacing the Node logic keeps every balance and setting.
contract UpgradeTest is StakingFixture {
    address internal priv;
    uint256 internal openBid;

    /// A pool with history: two nodes (one private), stakes, a slash, distributions, owners'
    /// share collected, settings changed and one open penalty deposit.
    function setUp() public override {
        super.setUp();
        vm.prank(poolOwner);
        priv = factory.createNode(bob, true, 300, 500 ether);
        vm.startPrank(bob);
        nodeLogic.setStakerAllowed(priv, carol, true);
        vm.stopPrank();
        _stakeOn(priv, carol, 200 ether);
        _stake(alice, 100 ether);
        _stake(bob, 300 ether);
        vm.prank(operator);
        uint256 lost = nodeLogic.bid(node, address(market), 40 ether, abi.encodeCall(ISlaMarket.bid, (1)));
        market.forfeit(node, 40 ether);
        vm.prank(operator);
        nodeLogic.settleBid(node, lost, 40 ether);
        _income(123.456 ether);
        _distribute();
        owners.collect(node);
        vm.startPrank(operator);
        nodeLogic.setOperatorFee(node, 1500);
        nodeLogic.setStakeLimit(node, 800 ether);
        openBid = nodeLogic.bid(node, address(market), 10 ether, abi.encodeCall(ISlaMarket.bid, (2)));
        vm.stopPrank();
        link.transfer(priv, 7 ether);
        nodeLogic.distribute(priv);
    }

    struct Snapshot {
        LinkPool.NodeInfo a;
        LinkPool.NodeInfo b;
        uint256 aliceStake;
        uint256 bobStake;
        uint256 carolStake;
        uint256 aliceRewards;
        uint256 bobRewards;
        uint256 carolRewards;
        uint256 ownerWithdrawable;
        bool carolAllowed;
    }

    function _snapshot() internal view returns (Snapshot memory s) {
        s.a = pool.nodeInfo(node);
        s.b = pool.nodeInfo(priv);
        s.aliceStake = pool.stakeOf(node, alice);
        s.bobStake = pool.stakeOf(node, bob);
        s.carolStake = pool.stakeOf(priv, carol);
        s.aliceRewards = pool.rewardsScaledOf(node, alice);
        s.bobRewards = pool.rewardsScaledOf(node, bob);
        s.carolRewards = pool.rewardsScaledOf(priv, carol);
        s.ownerWithdrawable = owners.withdrawableOf(poolOwner);
        s.carolAllowed = pool.isAllowed(priv, carol);
    }

    function _assertSame(Snapshot memory x, Snapshot memory y) internal pure {
        assertEq(keccak256(abi.encode(x)), keccak256(abi.encode(y)), "every balance and setting kept");
        assertEq(x.a.totalStaked, y.a.totalStaked, "total staked");
        assertEq(x.aliceStake, y.aliceStake, "alice");
    }

    function _assertNewLogicWorks(Node newNode) internal {
        // The old logic is locked out of every storage.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotLogic.selector, address(nodeLogic)));
        nodeLogic.withdraw(node, 1 ether);
        // The new one serves stakers, operators and the open deposit.
        uint256 aliceStake = pool.stakeOf(node, alice);
        vm.prank(alice);
        uint256 paid = newNode.withdrawAll(node);
        assertGt(paid, aliceStake, "stake plus rewards");
        market.release(node, 10 ether);
        vm.startPrank(operator);
        newNode.forward(node, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        newNode.settleBid(node, openBid, 0);
        vm.stopPrank();
        _income(10 ether);
        assertEq(newNode.distribute(node), 10 ether, "distributes");
        assertEq(pool.nodeInfo(node).feeBps, 1500, "fee kept");
        _stakeOn(priv, carol, 1 ether);
        link.transfer(outsider, 1 ether);
        vm.prank(outsider);
        vm.expectRevert(); // private allow-list kept
        link.transferAndCall(priv, 1 ether, STAKE);
    }

    function test_upgradeNodeLogicKeepsEverything() public {
        Snapshot memory before = _snapshot();
        NodeV2 v2 = new NodeV2(address(registry));
        vm.prank(poolOwner);
        registry.setLogic(PoolNames.NODE, address(v2));
        assertEq(pool.nodeLogic(), address(v2), "resolved");
        assertEq(v2.version(), 2, "new code");
        _assertSame(before, _snapshot());
        _assertNewLogicWorks(v2);
    }

    /// The forge script, run the way `forge script` runs it (broadcasting as the pool owner).
    function test_upgradeScript() public {
        Snapshot memory before = _snapshot();
        UpgradeNode script = new UpgradeNode();
        svm.setEnv("POOL_REGISTRY", svm.toString(address(registry)));
        vm.prank(poolOwner);
        registry.transferOwnership(_broadcaster());
        Node newNode = script.run();
        assertEq(registry.logic(PoolNames.NODE), address(newNode), "registered by the script");
        assertTrue(address(newNode) != address(nodeLogic), "a new contract");
        _assertSame(before, _snapshot());
        _assertNewLogicWorks(newNode);
    }

    /// The address `vm.startBroadcast()` sends from inside a test (forge's default sender).
    function _broadcaster() internal pure returns (address) {
        return 0x1804c8AB1F12E6bbf3894d4083f33e07309d1f38;
    }
}
