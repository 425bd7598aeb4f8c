// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Node} from "../src/staking/Node.sol";
import {PoolRegistry} from "../src/staking/PoolRegistry.sol";
import {PoolNames} from "../src/staking/PoolKeys.sol";

/// @dev The cheatcodes this script uses (forge implements them at the cheatcode address).
interface UpgradeVm {
    function envAddress(string calldata name) external view returns (address);
    function startBroadcast() external;
    function stopBroadcast() external;
}

/// @title Replaces the pool's `Node` logic.
/// @notice Deploys a new `Node` and points the registry's "Node" name at it. Every node storage
///         asks the registry at each call which contracts may write it, so this one transaction
///         hands all storages (LINK, stakes, rewards, settings) to the new logic and takes them
///         from the old one; no state is copied.
///
///         forge script script/UpgradeNode.s.sol --rpc-url $RPC --broadcast --private-key $POOL_OWNER_KEY
///         (env POOL_REGISTRY = the registry). When the registry has a change delay and nodes
///         exist, `run` only schedules the change; after the delay run the same script with
///         `--sig "applyPending()"` (anyone may send that one).
contract UpgradeNode {
    UpgradeVm private constant VM = UpgradeVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @notice Deploys the new logic and registers (or schedules) it; returns it.
    function run() external returns (Node newNode) {
        PoolRegistry registry = PoolRegistry(VM.envAddress("POOL_REGISTRY"));
        VM.startBroadcast();
        newNode = new Node(address(registry));
        registry.setLogic(PoolNames.NODE, address(newNode));
        VM.stopBroadcast();
    }

    /// @notice Applies a scheduled Node change once it is due.
    function applyPending() external {
        PoolRegistry registry = PoolRegistry(VM.envAddress("POOL_REGISTRY"));
        VM.startBroadcast();
        registry.applyLogic(PoolNames.NODE);
        VM.stopBroadcast();
    }
}
