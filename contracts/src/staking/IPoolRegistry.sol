// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title What pool storages and logic contracts ask the registry at call time.
interface IPoolRegistry {
    /// @notice The pool owner (creates nodes, manages logic, whitelist and owners' share).
    function owner() external view returns (address);
    /// @notice The LINK token.
    function link() external view returns (address);
    /// @notice The storage of pool-wide state (owners' pot); not a node.
    function poolStorage() external view returns (address);
    /// @notice The logic contract currently registered under `name` (address(0): none).
    function logic(bytes32 name) external view returns (address);
    /// @notice Whether `account` is currently a registered logic contract (may write storages).
    function isLogic(address account) external view returns (bool);
    /// @notice Whether `account` is a node storage created by this registry.
    function isNode(address account) external view returns (bool);
    /// @notice Whether `account` is a storage (node or pool) created by this registry.
    function isStorage(address account) external view returns (bool);
    /// @notice Whether `account` is a whitelisted oracle-network contract that a storage may send
    ///         penalty deposits and calls to: whitelisted, and not LINK, the registry, a storage or a logic contract.
    function isNetworkContract(address account) external view returns (bool);
    /// @notice Every node storage, in creation order.
    function nodes() external view returns (address[] memory);
    /// @notice Creates a node storage. Only the `NodeFactory` logic.
    function createStorage() external returns (address);
}

/// @title The staking logic a node storage hands `transferAndCall` stakes to.
interface INodeStaking {
    /// @notice Called by a node storage after `staker` sent it `amount` LINK with the stake payload.
    function onStake(address staker, uint256 amount) external;
}
