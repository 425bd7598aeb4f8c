// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPoolRegistry} from "./IPoolRegistry.sol";
import {PoolKeys, PoolNames} from "./PoolKeys.sol";
import {PoolStorage} from "./PoolStorage.sol";
import {StakeLib} from "./StakeLib.sol";

/// @title LinkPool: the pool's entry point and getters.
/// @notice Where clients start: the registry, the current logic contracts, the nodes, how to
///         stake, and every staker / node figure. How to use the pool:
///         - stake: `link.transferAndCall(node, amount, linkPool.stakePayload())`
///         - withdraw / claim / restake / distribute: `Node(linkPool.nodeLogic())`
///         - owners: `PoolOwners(linkPool.poolOwners())`
///         It holds no state and writes nothing.
contract LinkPool {
    using StakeLib for PoolStorage;
    using StakeLib for StakeLib.Position;

    /// @notice A node's settings and books.
    struct NodeInfo {
        address operator;
        uint256 feeBps;
        uint256 stakeLimit;
        bool enabled;
        bool isPrivate;
        uint256 totalStaked;
        uint256 totalShares;
        uint256 locked;
        uint256 epoch;
        uint256 rewardReserve;
        uint256 operatorOwed;
        uint256 ownersOwed;
        uint256 pending;
        uint256 accRewardPerShare;
        uint256 totalDistributed;
        uint256 totalSlashed;
        uint256 balance;
    }

    IPoolRegistry private immutable i_registry;

    error UnknownNode(address node);

    /// @param registry_ The pool registry.
    constructor(address registry_) {
        i_registry = IPoolRegistry(registry_);
    }

    // ------------------------------------------------------------------ directory

    function registry() external view returns (address) {
        return address(i_registry);
    }

    function link() external view returns (address) {
        return i_registry.link();
    }

    function nodeLogic() external view returns (address) {
        return i_registry.logic(PoolNames.NODE);
    }

    function nodeFactory() external view returns (address) {
        return i_registry.logic(PoolNames.NODE_FACTORY);
    }

    function nodeStaking() external view returns (address) {
        return i_registry.logic(PoolNames.NODE_STAKING);
    }

    function poolOwners() external view returns (address) {
        return i_registry.logic(PoolNames.POOL_OWNERS);
    }

    /// @notice The `transferAndCall` payload of a stake.
    function stakePayload() external pure returns (bytes memory) {
        return abi.encodeWithSelector(bytes4(keccak256("stake()")));
    }

    // ------------------------------------------------------------------ stakers

    /// @notice `staker`'s stake on `node`, in juels.
    function stakeOf(address node, address staker) external view returns (uint256) {
        return _node(node).load(staker).value();
    }

    /// @notice `staker`'s shares on `node` (0 if they were wiped by a slash).
    function sharesOf(address node, address staker) external view returns (uint256) {
        return _node(node).load(staker).shares;
    }

    /// @notice `staker`'s claimable rewards on `node`, in juels.
    function rewardsOf(address node, address staker) external view returns (uint256) {
        return _node(node).load(staker).claimable();
    }

    /// @notice `staker`'s credited rewards scaled by 1e36 (sub-juel precision).
    function rewardsScaledOf(address node, address staker) external view returns (uint256) {
        return _node(node).load(staker).credit;
    }

    /// @notice Whether `staker` may stake on `node` now (enabled, allow-list; the limit is not checked).
    function canStake(address node, address staker) external view returns (bool) {
        PoolStorage st = _node(node);
        if (st.getUint(PoolKeys.ENABLED) == 0) return false;
        return st.getUint(PoolKeys.PRIVATE) == 0 || st.getBool(PoolKeys.forAccount(PoolKeys.ALLOWED, staker));
    }

    /// @notice Whether `staker` is on `node`'s allow-list.
    function isAllowed(address node, address staker) external view returns (bool) {
        return _node(node).getBool(PoolKeys.forAccount(PoolKeys.ALLOWED, staker));
    }

    // ------------------------------------------------------------------ nodes

    function nodes() external view returns (address[] memory) {
        return i_registry.nodes();
    }

    function totalStaked(address node) external view returns (uint256) {
        return _node(node).getUint(PoolKeys.TOTAL_STAKED);
    }

    function totalShares(address node) external view returns (uint256) {
        return _node(node).getUint(PoolKeys.TOTAL_SHARES);
    }

    /// @notice Everything about `node`.
    function nodeInfo(address node) public view returns (NodeInfo memory info) {
        PoolStorage st = _node(node);
        bytes32[] memory keys = new bytes32[](15);
        keys[0] = PoolKeys.FEE_BPS;
        keys[1] = PoolKeys.STAKE_LIMIT;
        keys[2] = PoolKeys.ENABLED;
        keys[3] = PoolKeys.PRIVATE;
        keys[4] = PoolKeys.TOTAL_STAKED;
        keys[5] = PoolKeys.TOTAL_SHARES;
        keys[6] = PoolKeys.LOCKED;
        keys[7] = PoolKeys.EPOCH;
        keys[8] = PoolKeys.RESERVE;
        keys[9] = PoolKeys.OPERATOR_OWED;
        keys[10] = PoolKeys.OWNERS_OWED;
        keys[11] = PoolKeys.PENDING;
        keys[12] = PoolKeys.ACC;
        keys[13] = PoolKeys.TOTAL_DISTRIBUTED;
        keys[14] = PoolKeys.TOTAL_SLASHED;
        uint256[] memory v = st.getUints(keys);
        info.operator = st.getAddress(PoolKeys.OPERATOR);
        info.feeBps = v[0];
        info.stakeLimit = v[1];
        info.enabled = v[2] != 0;
        info.isPrivate = v[3] != 0;
        info.totalStaked = v[4];
        info.totalShares = v[5];
        info.locked = v[6];
        info.epoch = v[7];
        info.rewardReserve = v[8];
        info.operatorOwed = v[9];
        info.ownersOwed = v[10];
        info.pending = v[11];
        info.accRewardPerShare = v[12];
        info.totalDistributed = v[13];
        info.totalSlashed = v[14];
        info.balance = IERC20(i_registry.link()).balanceOf(node);
    }

    /// @notice LINK `node` owes: stakers' rewards, operator fees, owners' share (excludes stake).
    function owedOf(address node) external view returns (uint256) {
        NodeInfo memory i = nodeInfo(node);
        return i.rewardReserve + i.operatorOwed + i.ownersOwed;
    }

    /// @notice The profit the next `distribute(node)` would split.
    function distributable(address node) external view returns (uint256) {
        NodeInfo memory i = nodeInfo(node);
        return StakeLib.profit(i.balance, i.totalStaked, i.rewardReserve + i.operatorOwed + i.ownersOwed);
    }

    /// @notice How many penalty deposits `node` has placed (bid ids run from 1 to this).
    function bidCount(address node) external view returns (uint256) {
        return _node(node).getUint(PoolKeys.BID_COUNT);
    }

    /// @notice Penalty deposit `bidId` of `node`: amount, target, whether still open.
    function bidOf(address node, uint256 bidId) external view returns (uint256 amount, address target, bool open) {
        PoolStorage st = _node(node);
        return (
            st.getUint(PoolKeys.at(PoolKeys.BID_AMOUNT, bidId)),
            st.getAddress(PoolKeys.at(PoolKeys.BID_TARGET, bidId)),
            st.getBool(PoolKeys.at(PoolKeys.BID_OPEN, bidId))
        );
    }

    function _node(address node) private view returns (PoolStorage) {
        if (!i_registry.isNode(node)) revert UnknownNode(node);
        return PoolStorage(node);
    }
}
