// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {PoolKeys} from "./PoolKeys.sol";
import {PoolStorage} from "./PoolStorage.sol";

/// @title The staker accounting shared by the logic contracts (O(1) in the number of stakers).
/// @notice Model (all state in the node's `PoolStorage`):
///         - Stake is held as shares. `totalStaked` juels back `totalShares`; a staker's stake is
///           `shares * totalStaked / totalShares`. Shares are minted at that rate (1:1 until the
///           first slash), so stake/withdraw never move value between stakers; a slash lowers
///           `totalStaked` only, i.e. every staker loses the same fraction.
///         - Rewards use a reward-per-share accumulator `acc` (scaled by 1e36). A staker's credit
///           (also scaled by 1e36, so no rounding at settlement) grows by `shares * (acc - debt)`.
///           Rewards not yet allocated (the division remainder, and rewards that arrived while no
///           one staked) stay in `pending` (scaled) and are allocated by the next distribution.
///           Exact books: `reserve * 1e36 == sum(credits, settled or not) + pending`.
///         - A slash that takes the whole stake ends the epoch: `acc` is saved for it and every
///           older share is void (its rewards up to then stay credited).
library StakeLib {
    /// @notice One staker's position plus the node totals it depends on.
    struct Position {
        uint256 totalStaked;
        uint256 totalShares;
        uint256 locked;
        uint256 epoch;
        uint256 acc;
        uint256 shares;
        uint256 debt;
        uint256 credit;
        uint256 stakerEpoch;
    }

    /// @notice The stake would not buy a single share.
    error ZeroShares(uint256 amount);
    /// @notice The node does not accept stakes.
    error NodeDisabled(address node);
    /// @notice The node is private and `staker` is not on its allow-list.
    error StakerNotAllowed(address node, address staker);
    /// @notice The stake would take the node above its limit.
    error StakeLimitExceeded(address node, uint256 limit, uint256 totalAfter);
    /// @notice Zero stakes are refused.
    error ZeroStake();

    /// @notice Loads and settles `staker`'s position (rewards up to now credited, epoch checked).
    function load(PoolStorage st, address staker) internal view returns (Position memory p) {
        bytes32[] memory keys = new bytes32[](9);
        keys[0] = PoolKeys.TOTAL_STAKED;
        keys[1] = PoolKeys.TOTAL_SHARES;
        keys[2] = PoolKeys.LOCKED;
        keys[3] = PoolKeys.EPOCH;
        keys[4] = PoolKeys.ACC;
        keys[5] = PoolKeys.forAccount(PoolKeys.SHARES, staker);
        keys[6] = PoolKeys.forAccount(PoolKeys.DEBT, staker);
        keys[7] = PoolKeys.forAccount(PoolKeys.CREDIT, staker);
        keys[8] = PoolKeys.forAccount(PoolKeys.STAKER_EPOCH, staker);
        uint256[] memory v = st.getUints(keys);
        p = Position({
            totalStaked: v[0],
            totalShares: v[1],
            locked: v[2],
            epoch: v[3],
            acc: v[4],
            shares: v[5],
            debt: v[6],
            credit: v[7],
            stakerEpoch: v[8]
        });
        if (p.stakerEpoch != p.epoch) {
            // The staker's shares belong to a wiped epoch: credit them up to the wipe, then void them.
            if (p.shares != 0) {
                p.credit += p.shares * (st.getUint(PoolKeys.at(PoolKeys.ACC_AT_WIPE, p.stakerEpoch)) - p.debt);
            }
            p.shares = 0;
            p.stakerEpoch = p.epoch;
        } else {
            p.credit += p.shares * (p.acc - p.debt);
        }
        p.debt = p.acc;
    }

    /// @notice Writes back the totals and the staker's fields of `p`.
    function save(PoolStorage st, address staker, Position memory p) internal {
        bytes32[] memory keys = new bytes32[](6);
        uint256[] memory values = new uint256[](6);
        keys[0] = PoolKeys.TOTAL_STAKED;
        values[0] = p.totalStaked;
        keys[1] = PoolKeys.TOTAL_SHARES;
        values[1] = p.totalShares;
        keys[2] = PoolKeys.forAccount(PoolKeys.SHARES, staker);
        values[2] = p.shares;
        keys[3] = PoolKeys.forAccount(PoolKeys.DEBT, staker);
        values[3] = p.debt;
        keys[4] = PoolKeys.forAccount(PoolKeys.CREDIT, staker);
        values[4] = p.credit;
        keys[5] = PoolKeys.forAccount(PoolKeys.STAKER_EPOCH, staker);
        values[5] = p.stakerEpoch;
        st.setUints(keys, values);
    }

    /// @notice The staker's stake in juels (rounded down).
    function value(Position memory p) internal pure returns (uint256) {
        return p.totalShares == 0 ? 0 : p.shares * p.totalStaked / p.totalShares;
    }

    /// @notice The staker's claimable rewards in juels (the sub-juel rest stays credited).
    function claimable(Position memory p) internal pure returns (uint256) {
        return p.credit / PoolKeys.SCALE;
    }

    /// @notice Adds `amount` juels of stake to `p`, minting shares at the current rate.
    function mint(Position memory p, uint256 amount) internal pure returns (uint256 minted) {
        minted = p.totalShares == 0 ? amount : amount * p.totalShares / p.totalStaked;
        if (minted == 0) revert ZeroShares(amount);
        p.totalStaked += amount;
        p.totalShares += minted;
        p.shares += minted;
    }

    /// @notice Removes `amount` juels of stake (`amount <= value(p)`), burning shares rounded up;
    ///         the last staker's full exit takes the whole `totalStaked` (rounding dust included).
    /// @return paid The juels to pay out.
    function burn(Position memory p, uint256 amount) internal pure returns (uint256 paid) {
        uint256 burned;
        if (amount == value(p)) {
            burned = p.shares;
            paid = burned == p.totalShares ? p.totalStaked : amount;
        } else {
            burned = (amount * p.totalShares + p.totalStaked - 1) / p.totalStaked;
            paid = amount;
        }
        p.totalStaked -= paid;
        p.totalShares -= burned;
        p.shares -= burned;
    }

    /// @notice Profit a node can distribute: LINK held above its stake and what it owes
    ///         (`balance - staked - owed`, at least 0). Deposits out in the network are NOT counted
    ///         as held: a deposit that came back but is not settled yet would otherwise be counted
    ///         twice and paid out as profit. While deposits are out, profit waits until they return.
    function profit(uint256 balance, uint256 staked, uint256 owed) internal pure returns (uint256) {
        if (balance <= staked + owed) return 0;
        return balance - staked - owed;
    }

    /// @notice Checks the node's rules for a new stake of `amount` by `staker` (enabled, private
    ///         allow-list, stake limit) and mints its shares into `p`.
    function admit(PoolStorage st, Position memory p, address staker, uint256 amount)
        internal
        view
        returns (uint256 minted)
    {
        if (amount == 0) revert ZeroStake();
        bytes32[] memory keys = new bytes32[](3);
        keys[0] = PoolKeys.ENABLED;
        keys[1] = PoolKeys.PRIVATE;
        keys[2] = PoolKeys.STAKE_LIMIT;
        uint256[] memory v = st.getUints(keys);
        if (v[0] == 0) revert NodeDisabled(address(st));
        if (v[1] != 0 && !st.getBool(PoolKeys.forAccount(PoolKeys.ALLOWED, staker))) {
            revert StakerNotAllowed(address(st), staker);
        }
        if (p.totalStaked + amount > v[2]) revert StakeLimitExceeded(address(st), v[2], p.totalStaked + amount);
        minted = mint(p, amount);
    }
}
