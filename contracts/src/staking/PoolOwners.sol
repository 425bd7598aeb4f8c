// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IPoolRegistry} from "./IPoolRegistry.sol";
import {PoolKeys} from "./PoolKeys.sol";
import {PoolStorage} from "./PoolStorage.sol";

/// @title PoolOwners: the owners' share of every node's profit.
/// @notice Each distribution credits `ownersBps` of a node's profit to the owners' pot of that
///         node; `collect` (anyone) moves it into the pool storage, where it is split among the
///         owners in proportion to their ownership units with a per-unit accumulator (same
///         exact scaled arithmetic as the stakers'); each owner withdraws its own part.
///         The pool owner sets the share and the units.
contract PoolOwners {
    IPoolRegistry private immutable i_registry;

    /// @dev An owner's position plus the pot's totals.
    struct Position {
        uint256 totalUnits;
        uint256 acc;
        uint256 pending;
        uint256 reserve;
        uint256 units;
        uint256 debt;
        uint256 credit;
    }

    event OwnersShareSet(uint256 bps);
    event OwnershipSet(address indexed owner, uint256 units, uint256 totalUnits);
    event Collected(address indexed node, uint256 amount);
    event OwnerWithdrawn(address indexed owner, uint256 amount);

    error NotPoolOwner(address caller);
    error UnknownNode(address node);
    error ShareTooHigh(uint256 bps, uint256 maximum);
    error ZeroAmount();

    /// @param registry_ The pool registry.
    constructor(address registry_) {
        i_registry = IPoolRegistry(registry_);
    }

    /// @notice Sets the owners' share of every node's profit, basis points. Pool owner only.
    function setOwnersShare(uint256 bps) external {
        _onlyPoolOwner();
        if (bps > PoolKeys.MAX_OWNERS_BPS) revert ShareTooHigh(bps, PoolKeys.MAX_OWNERS_BPS);
        _pool().setUint(PoolKeys.OWNERS_BPS, bps);
        emit OwnersShareSet(bps);
    }

    /// @notice Sets `owner`'s ownership units; what it earned so far stays its own. Pool owner only.
    function setOwnership(address owner, uint256 units) external {
        _onlyPoolOwner();
        PoolStorage pool = _pool();
        Position memory p = _load(pool, owner);
        // Allocate what is pending to the old units, credit the owner's old units up to here...
        uint256 before = p.acc;
        _allocate(p);
        p.credit += p.units * (p.acc - before);
        p.debt = p.acc;
        p.totalUnits = p.totalUnits - p.units + units;
        p.units = units;
        // ...then allocate what was held while nobody owned units to the new units (credited
        // to this owner at its next settlement, since its debt stays below the new accumulator).
        _allocate(p);
        _save(pool, owner, p);
        emit OwnershipSet(owner, units, p.totalUnits);
    }

    /// @notice Moves `node`'s accrued owners' share into the owners' pot. Anyone.
    function collect(address node) external returns (uint256 amount) {
        if (!i_registry.isNode(node)) revert UnknownNode(node);
        PoolStorage st = PoolStorage(node);
        amount = st.getUint(PoolKeys.OWNERS_OWED);
        if (amount == 0) return 0;
        st.setUint(PoolKeys.OWNERS_OWED, 0);
        PoolStorage pool = _pool();
        Position memory p = _load(pool, address(0));
        p.reserve += amount;
        p.pending += amount * PoolKeys.SCALE;
        _allocate(p);
        bytes32[] memory keys = new bytes32[](3);
        uint256[] memory values = new uint256[](3);
        (keys[0], values[0]) = (PoolKeys.OWNERS_ACC, p.acc);
        (keys[1], values[1]) = (PoolKeys.OWNERS_PENDING, p.pending);
        (keys[2], values[2]) = (PoolKeys.OWNERS_RESERVE, p.reserve);
        pool.setUints(keys, values);
        emit Collected(node, amount);
        st.transferLink(address(pool), amount);
    }

    /// @notice Sends the caller its part of the owners' pot.
    function withdraw() external returns (uint256 amount) {
        PoolStorage pool = _pool();
        Position memory p = _load(pool, msg.sender);
        amount = p.credit / PoolKeys.SCALE;
        if (amount == 0) revert ZeroAmount();
        p.credit -= amount * PoolKeys.SCALE;
        p.reserve -= amount;
        _save(pool, msg.sender, p);
        emit OwnerWithdrawn(msg.sender, amount);
        pool.transferLink(msg.sender, amount);
    }

    /// @notice The owners' share, basis points.
    function ownersShareBps() external view returns (uint256) {
        return _pool().getUint(PoolKeys.OWNERS_BPS);
    }

    /// @notice `owner`'s units and the total.
    function unitsOf(address owner) external view returns (uint256 units, uint256 totalUnits) {
        Position memory p = _load(_pool(), owner);
        return (p.units, p.totalUnits);
    }

    /// @notice What `owner` can withdraw now (collected shares only).
    function withdrawableOf(address owner) external view returns (uint256) {
        return _load(_pool(), owner).credit / PoolKeys.SCALE;
    }

    /// @notice Juels in the pot owed to owners (credited or waiting for units).
    function reserve() external view returns (uint256) {
        return _pool().getUint(PoolKeys.OWNERS_RESERVE);
    }

    /// @notice The registry.
    function registry() external view returns (address) {
        return address(i_registry);
    }

    function _onlyPoolOwner() private view {
        if (msg.sender != i_registry.owner()) revert NotPoolOwner(msg.sender);
    }

    function _pool() private view returns (PoolStorage) {
        return PoolStorage(i_registry.poolStorage());
    }

    /// @dev Loads `owner`'s position and credits it up to the current accumulator.
    function _load(PoolStorage pool, address owner) private view returns (Position memory p) {
        bytes32[] memory keys = new bytes32[](7);
        keys[0] = PoolKeys.OWNERS_TOTAL_UNITS;
        keys[1] = PoolKeys.OWNERS_ACC;
        keys[2] = PoolKeys.OWNERS_PENDING;
        keys[3] = PoolKeys.OWNERS_RESERVE;
        keys[4] = PoolKeys.forAccount(PoolKeys.OWNER_UNITS, owner);
        keys[5] = PoolKeys.forAccount(PoolKeys.OWNER_DEBT, owner);
        keys[6] = PoolKeys.forAccount(PoolKeys.OWNER_CREDIT, owner);
        uint256[] memory v = pool.getUints(keys);
        p = Position({totalUnits: v[0], acc: v[1], pending: v[2], reserve: v[3], units: v[4], debt: v[5], credit: v[6]});
        p.credit += p.units * (p.acc - p.debt);
        p.debt = p.acc;
    }

    function _save(PoolStorage pool, address owner, Position memory p) private {
        bytes32[] memory keys = new bytes32[](7);
        uint256[] memory values = new uint256[](7);
        (keys[0], values[0]) = (PoolKeys.OWNERS_TOTAL_UNITS, p.totalUnits);
        (keys[1], values[1]) = (PoolKeys.OWNERS_ACC, p.acc);
        (keys[2], values[2]) = (PoolKeys.OWNERS_PENDING, p.pending);
        (keys[3], values[3]) = (PoolKeys.OWNERS_RESERVE, p.reserve);
        (keys[4], values[4]) = (PoolKeys.forAccount(PoolKeys.OWNER_UNITS, owner), p.units);
        (keys[5], values[5]) = (PoolKeys.forAccount(PoolKeys.OWNER_DEBT, owner), p.debt);
        (keys[6], values[6]) = (PoolKeys.forAccount(PoolKeys.OWNER_CREDIT, owner), p.credit);
        pool.setUints(keys, values);
    }

    /// @dev Allocates the pending pot to the current units (nothing while nobody owns units).
    function _allocate(Position memory p) private pure {
        if (p.totalUnits != 0 && p.pending >= p.totalUnits) {
            uint256 increment = p.pending / p.totalUnits;
            p.acc += increment;
            p.pending -= increment * p.totalUnits;
        }
    }
}
