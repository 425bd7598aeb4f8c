// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {StakingFixture} from "./StakingFixture.sol";
import {PoolRegistry} from "../../src/staking/PoolRegistry.sol";
import {PoolStorage} from "../../src/staking/PoolStorage.sol";
import {PoolKeys, PoolNames} from "../../src/staking/PoolKeys.sol";
import {Node} from "../../src/staking/Node.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {MockMarket} from "./mocks/MockMarket.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// The registry: logic directory, whitelist, storage factory.
contract RegistryTest is StakingFixture {
    function test_logicDirectory() public view {
        assertEq(registry.logic(PoolNames.NODE), address(nodeLogic), "node");
        assertEq(registry.logic(PoolNames.NODE_STAKING), address(staking), "staking");
        assertTrue(registry.isLogic(address(owners)), "owners is logic");
        assertEq(registry.nameOf(address(factory)), PoolNames.NODE_FACTORY, "reverse");
        assertTrue(!registry.isLogic(outsider), "outsider");
        assertEq(pool.nodeLogic(), address(nodeLogic), "LinkPool resolves");
        assertEq(registry.owner(), poolOwner, "owner");
    }

    function test_setLogic_rules() public {
        Node newNode = new Node(address(registry));
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        registry.setLogic(PoolNames.NODE, address(newNode));
        vm.startPrank(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.NotAContract.selector, outsider));
        registry.setLogic(PoolNames.NODE, outsider);
        vm.expectRevert(PoolRegistry.EmptyName.selector);
        registry.setLogic(bytes32(0), address(newNode));
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.ForbiddenAddress.selector, address(link)));
        registry.setLogic(PoolNames.NODE, address(link));
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.ForbiddenAddress.selector, node));
        registry.setLogic(PoolNames.NODE, node);
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.ForbiddenAddress.selector, address(market)));
        registry.setLogic(PoolNames.NODE, address(market));
        vm.expectRevert(
            abi.encodeWithSelector(PoolRegistry.AlreadyRegistered.selector, address(staking), PoolNames.NODE_STAKING)
        );
        registry.setLogic(PoolNames.NODE, address(staking));
        vm.expectEmit(true, true, false, true, address(registry));
        emit PoolRegistry.LogicSet(PoolNames.NODE, address(newNode), address(nodeLogic));
        registry.setLogic(PoolNames.NODE, address(newNode));
        vm.stopPrank();
        assertTrue(!registry.isLogic(address(nodeLogic)), "old one out");
        assertTrue(registry.isLogic(address(newNode)), "new one in");
    }

    function test_whitelist() public {
        MockMarket second = new MockMarket(link);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        registry.addToWhitelist(address(second));
        vm.startPrank(poolOwner);
        vm.expectEmit(true, false, false, false, address(registry));
        emit PoolRegistry.WhitelistAdded(address(second));
        registry.addToWhitelist(address(second));
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.WhitelistUnchanged.selector, address(second)));
        registry.addToWhitelist(address(second));
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.ForbiddenAddress.selector, address(registry)));
        registry.addToWhitelist(address(registry));
        address poolStorage = registry.poolStorage();
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.ForbiddenAddress.selector, poolStorage));
        registry.addToWhitelist(poolStorage);
        vm.stopPrank();
        address[] memory list = registry.whitelist();
        assertEq(list.length, 2, "two");
        assertEq(list[1], address(second), "second");
        assertTrue(registry.isWhitelisted(address(second)), "whitelisted");
        assertTrue(registry.isNetworkContract(address(second)), "network contract");
        vm.prank(poolOwner);
        vm.expectEmit(true, false, false, false, address(registry));
        emit PoolRegistry.WhitelistRemoved(address(market));
        registry.removeFromWhitelist(address(market));
        list = registry.whitelist();
        assertEq(list.length, 1, "one");
        assertEq(list[0], address(second), "moved into the gap");
        assertTrue(!registry.isNetworkContract(address(market)), "removed");
        vm.prank(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.WhitelistUnchanged.selector, address(market)));
        registry.removeFromWhitelist(address(market));
        // A removed market can no longer receive bids.
        _stake(alice, 10 ether);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(market)));
        nodeLogic.bid(node, address(market), 1 ether, abi.encodeCall(ISlaMarket.bid, (7)));
    }

    function test_createStorage_onlyNodeFactory() public {
        vm.prank(poolOwner);
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.OnlyNodeFactory.selector, poolOwner));
        registry.createStorage();
    }

    function test_storageIdentity() public view {
        assertEq(PoolStorage(node).registry(), address(registry), "registry");
        assertTrue(registry.isStorage(node), "storage");
        assertTrue(registry.isStorage(registry.poolStorage()), "pool storage");
        assertTrue(!registry.isNode(registry.poolStorage()), "pool storage is not a node");
        assertEq(PoolStorage(node).getAddress(PoolKeys.OPERATOR), operator, "typed storage read");
    }

    function test_typedStorage() public {
        // Only logic writes; a logic contract (here the registered factory's address) can write every type.
        vm.startPrank(address(factory));
        PoolStorage(node).setBytes32(keccak256("k"), bytes32("v"));
        PoolStorage(node).setInt(keccak256("k"), -5);
        PoolStorage(node).setString(keccak256("k"), "hello");
        PoolStorage(node).setBool(keccak256("k"), true);
        vm.stopPrank();
        assertEq(PoolStorage(node).getBytes32(keccak256("k")), bytes32("v"), "bytes32");
        assertEq(PoolStorage(node).getInt(keccak256("k")), -5, "int");
        assertEq(PoolStorage(node).getString(keccak256("k")), "hello", "string");
        assertTrue(PoolStorage(node).getBool(keccak256("k")), "bool");
        bytes32[] memory keys = new bytes32[](2);
        uint256[] memory values = new uint256[](1);
        vm.prank(address(factory));
        vm.expectRevert(PoolStorage.LengthMismatch.selector);
        PoolStorage(node).setUints(keys, values);
    }
}

/// With a change delay, logic changes and whitelist additions wait (stakers can leave first).
contract RegistryDelayTest is StakingFixture {
    uint256 internal constant DELAY = 2 days;

    function _changeDelay() internal pure override returns (uint256) {
        return DELAY;
    }

    function test_setupBeforeFirstNodeIsImmediate() public view {
        assertEq(registry.changeDelay(), DELAY, "delay");
        assertEq(registry.logic(PoolNames.NODE), address(nodeLogic), "set during setup");
        assertTrue(registry.isWhitelisted(address(market)), "whitelisted during setup");
    }

    function test_logicChangeWaits() public {
        Node newNode = new Node(address(registry));
        vm.prank(poolOwner);
        registry.setLogic(PoolNames.NODE, address(newNode));
        assertEq(registry.logic(PoolNames.NODE), address(nodeLogic), "not yet");
        (address target, uint256 eta) = registry.pendingLogic(PoolNames.NODE);
        assertEq(target, address(newNode), "scheduled");
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.TooEarly.selector, eta));
        registry.applyLogic(PoolNames.NODE);
        vm.warp(eta);
        vm.prank(outsider); // anyone applies a due change
        registry.applyLogic(PoolNames.NODE);
        assertEq(registry.logic(PoolNames.NODE), address(newNode), "applied");
        vm.expectRevert(PoolRegistry.NothingScheduled.selector);
        registry.applyLogic(PoolNames.NODE);
    }

    function test_whitelistAdditionWaits_removalIsImmediate() public {
        MockMarket second = new MockMarket(link);
        vm.prank(poolOwner);
        registry.addToWhitelist(address(second));
        assertTrue(!registry.isWhitelisted(address(second)), "not yet");
        vm.warp(block.timestamp + DELAY - 1);
        vm.expectRevert(abi.encodeWithSelector(PoolRegistry.TooEarly.selector, block.timestamp + 1));
        registry.applyWhitelist(address(second));
        vm.warp(block.timestamp + 1);
        registry.applyWhitelist(address(second));
        assertTrue(registry.isWhitelisted(address(second)), "applied");
        vm.prank(poolOwner);
        registry.removeFromWhitelist(address(second));
        assertTrue(!registry.isWhitelisted(address(second)), "removed at once");
    }
}
