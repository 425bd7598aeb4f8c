// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IPoolRegistry} from "./IPoolRegistry.sol";
import {PoolKeys} from "./PoolKeys.sol";
import {PoolStorage} from "./PoolStorage.sol";

/// @title NodeFactory: the pool owner adds nodes.
/// @notice A node is a new `PoolStorage` (created by the registry) with its operator and settings.
contract NodeFactory {
    IPoolRegistry private immutable i_registry;

    /// @notice Node `node` (its storage, which is also its oracle address) was created.
    event NodeCreated(
        address indexed node, address indexed operator, bool isPrivate, uint256 feeBps, uint256 stakeLimit
    );

    error NotPoolOwner(address caller);
    error ZeroAddress();
    error FeeTooHigh(uint256 feeBps, uint256 maximum);

    /// @param registry_ The pool registry.
    constructor(address registry_) {
        i_registry = IPoolRegistry(registry_);
    }

    /// @notice Creates a node run by `operator`. Pool owner only.
    /// @param operator Runs the node, manages its settings, bids and answers as it.
    /// @param isPrivate Whether only allow-listed stakers may stake.
    /// @param feeBps Operator fee (operational-cost rate), basis points of each distribution.
    /// @param stakeLimit Highest total stake.
    /// @return node The node's address.
    function createNode(address operator, bool isPrivate, uint256 feeBps, uint256 stakeLimit)
        external
        returns (address node)
    {
        if (msg.sender != i_registry.owner()) revert NotPoolOwner(msg.sender);
        if (operator == address(0)) revert ZeroAddress();
        if (feeBps > PoolKeys.MAX_OPERATOR_FEE_BPS) revert FeeTooHigh(feeBps, PoolKeys.MAX_OPERATOR_FEE_BPS);
        node = i_registry.createStorage();
        PoolStorage st = PoolStorage(node);
        st.setAddress(PoolKeys.OPERATOR, operator);
        bytes32[] memory keys = new bytes32[](4);
        uint256[] memory values = new uint256[](4);
        (keys[0], values[0]) = (PoolKeys.FEE_BPS, feeBps);
        (keys[1], values[1]) = (PoolKeys.STAKE_LIMIT, stakeLimit);
        (keys[2], values[2]) = (PoolKeys.ENABLED, 1);
        (keys[3], values[3]) = (PoolKeys.PRIVATE, isPrivate ? 1 : 0);
        st.setUints(keys, values);
        emit NodeCreated(node, operator, isPrivate, feeBps, stakeLimit);
    }

    /// @notice The registry.
    function registry() external view returns (address) {
        return address(i_registry);
    }
}
