// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IPoolRegistry, INodeStaking} from "./IPoolRegistry.sol";
import {PoolStorage} from "./PoolStorage.sol";
import {StakeLib} from "./StakeLib.sol";
import {PoolNames} from "./PoolKeys.sol";

/// @dev The part of the `Node` logic that `NodeStaking` calls.
interface INodeDistribution {
    function distributeBeforeStake(address node, uint256 incoming) external returns (uint256);
}

/// @title NodeStaking: stakes arrive as LINK `transferAndCall` to the node.
/// @notice A staker calls `link.transferAndCall(node, amount, abi.encodeWithSelector(PoolStorage.STAKE))`;
///         the node's storage receives the LINK and hands the stake to this contract, which checks
///         the node's rules (enabled, private allow-list, stake limit) and mints shares.
contract NodeStaking is INodeStaking {
    using StakeLib for PoolStorage;
    using StakeLib for StakeLib.Position;

    IPoolRegistry private immutable i_registry;

    /// @notice `staker` staked `amount` juels on `node` and received `shares`.
    event Staked(address indexed node, address indexed staker, uint256 amount, uint256 shares);

    /// @notice `onStake` was not called by a node storage.
    error NotNodeStorage(address caller);

    /// @param registry_ The pool registry.
    constructor(address registry_) {
        i_registry = IPoolRegistry(registry_);
    }

    /// @inheritdoc INodeStaking
    /// @dev The storage already holds the LINK (ERC-677 transfers before calling back), and stake
    ///      accounting never reads `balanceOf`, so the order is safe.
    function onStake(address staker, uint256 amount) external {
        if (!i_registry.isNode(msg.sender)) revert NotNodeStorage(msg.sender);
        PoolStorage st = PoolStorage(msg.sender);
        // Profit that arrived before this stake belongs to the stakers already in.
        INodeDistribution(i_registry.logic(PoolNames.NODE)).distributeBeforeStake(msg.sender, amount);
        StakeLib.Position memory p = st.load(staker);
        uint256 minted = st.admit(p, staker, amount);
        st.save(staker, p);
        emit Staked(msg.sender, staker, amount, minted);
    }

    /// @notice The registry.
    function registry() external view returns (address) {
        return address(i_registry);
    }
}
