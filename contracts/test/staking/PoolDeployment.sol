// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {PoolRegistry} from "../../src/staking/PoolRegistry.sol";
import {PoolNames} from "../../src/staking/PoolKeys.sol";
import {LinkPool} from "../../src/staking/LinkPool.sol";
import {Node} from "../../src/staking/Node.sol";
import {NodeFactory} from "../../src/staking/NodeFactory.sol";
import {NodeStaking} from "../../src/staking/NodeStaking.sol";
import {PoolOwners} from "../../src/staking/PoolOwners.sol";

/// @dev The staking pool as every pool test deploys it: registry, the five logic contracts
///      registered under their names, and the owners' share. Whitelisting a market and creating
///      nodes are left to the test (before its first node, so nothing waits for the delay).
abstract contract PoolDeployment is Test {
    PoolRegistry internal registry;
    LinkPool internal pool;
    Node internal nodeLogic;
    NodeFactory internal factory;
    NodeStaking internal staking;
    PoolOwners internal owners;

    /// @dev Deploys the pool on `link_`, owned by `owner_`, with `ownersBps` of every profit to
    ///      the owners and `owner_` holding every owner unit.
    function _deployPool(address link_, address owner_, uint256 changeDelay, uint256 ownersBps) internal {
        registry = new PoolRegistry(link_, owner_, changeDelay);
        pool = new LinkPool(address(registry));
        nodeLogic = new Node(address(registry));
        factory = new NodeFactory(address(registry));
        staking = new NodeStaking(address(registry));
        owners = new PoolOwners(address(registry));
        vm.startPrank(owner_);
        registry.setLogic(PoolNames.LINK_POOL, address(pool));
        registry.setLogic(PoolNames.NODE, address(nodeLogic));
        registry.setLogic(PoolNames.NODE_FACTORY, address(factory));
        registry.setLogic(PoolNames.NODE_STAKING, address(staking));
        registry.setLogic(PoolNames.POOL_OWNERS, address(owners));
        owners.setOwnersShare(ownersBps);
        owners.setOwnership(owner_, 1);
        vm.stopPrank();
    }
}
