// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPoolRegistry} from "./IPoolRegistry.sol";
import {PoolKeys, PoolNames} from "./PoolKeys.sol";
import {PoolStorage} from "./PoolStorage.sol";
import {ISlaMarket} from "../market/ISlaMarket.sol";
import {StakeLib} from "./StakeLib.sol";

/// @title Node: the logic of a staking node (stakers' exits, distribution, settings, penalty accounting).
/// @notice Every function takes the node (its `PoolStorage` address, which is also its oracle
///         address) and keeps no state of its own, so a new `Node` registered in the registry
///         takes over every node unchanged.
///
///         Distribution (anyone, any time): profit O = LINK received above what the node owes
///         (`StakeLib.profit`). The operator gets `O * feeBps`, the owners' pot `O * ownersBps`, the
///         stakers the rest, which raises the reward-per-share accumulator: staker i gets
///         `shares_i / totalShares` of it, which is `stake_i / totalStaked` (D = S/T x O).
///
///         Penalty deposits: the operator bids with the node's LINK (never with LINK owed to
///         stakers, operator or owners) to a whitelisted network contract; the deposit stays
///         counted as the node's (`locked`) until `settleBid` reports how much was forfeited.
///         A forfeit is slashed from `totalStaked` (every staker loses the same fraction); the
///         part above the whole stake is absorbed by undistributed profit. While deposits are
///         out, the stake backing them cannot be withdrawn (no front-running a slash).
contract Node {
    using StakeLib for PoolStorage;
    using StakeLib for StakeLib.Position;

    IPoolRegistry private immutable i_registry;
    IERC20 private immutable i_link;

    event Withdrawn(address indexed node, address indexed staker, uint256 amount);
    event RewardsClaimed(address indexed node, address indexed staker, uint256 amount);
    event Restaked(address indexed node, address indexed staker, uint256 amount, uint256 shares);
    /// @notice `profit` was split into operator fee, owners' share and stakers' part;
    ///         `pending` (scaled 1e36) is what is left to allocate (remainder / nobody staked).
    event Distributed(
        address indexed node, uint256 profit, uint256 operatorFee, uint256 ownersShare, uint256 stakers, uint256 pending
    );
    event OperatorFeeSet(address indexed node, uint256 feeBps);
    event StakeLimitSet(address indexed node, uint256 limit);
    event EnabledSet(address indexed node, bool enabled);
    event PrivateSet(address indexed node, bool isPrivate);
    event StakerAllowed(address indexed node, address indexed staker, bool allowed);
    event OperatorSet(address indexed node, address indexed operator);
    event OperatorFeesWithdrawn(address indexed node, address indexed operator, uint256 amount);
    event BidPlaced(address indexed node, uint256 indexed bidId, address indexed target, uint256 amount);
    event BidSettled(
        address indexed node, uint256 indexed bidId, uint256 deposit, uint256 forfeited, uint256 slashed, bool wiped
    );

    error UnknownNode(address node);
    error NotOperator(address caller);
    error NotOperatorOrOwner(address caller);
    error NotPoolOwner(address caller);
    error ZeroAmount();
    /// @notice `distributeBeforeStake` was called by someone other than the `NodeStaking` logic.
    error NotNodeStaking(address caller);
    /// @notice A penalty deposit may only carry a bid (`ISlaMarket.bid`) as its payload.
    error UnsupportedBidPayload(bytes4 selector);
    error ZeroAddress();
    error InsufficientStake(uint256 available, uint256 requested);
    /// @notice The withdrawal would leave less stake than the deposits out in the network.
    error StakeLocked(uint256 totalStakedAfter, uint256 locked);
    /// @notice The bid exceeds the node's LINK that is not owed to anyone.
    error InsufficientFreeBalance(uint256 free, uint256 requested);
    error FeeTooHigh(uint256 feeBps, uint256 maximum);
    error UnknownBid(uint256 bidId);
    error ForfeitTooLarge(uint256 deposit, uint256 forfeited);
    /// @notice Settling would count a deposit as back that the node does not hold: withdraw it from the market first.
    error DepositNotReturned(uint256 assets, uint256 owed);

    /// @param registry_ The pool registry.
    constructor(address registry_) {
        i_registry = IPoolRegistry(registry_);
        i_link = IERC20(IPoolRegistry(registry_).link());
    }

    // ------------------------------------------------------------------------------------------
    // Stakers
    // ------------------------------------------------------------------------------------------

    /// @notice Withdraws `amount` juels of the caller's stake on `node`.
    function withdraw(address node, uint256 amount) external {
        PoolStorage st = _node(node);
        if (amount == 0) revert ZeroAmount();
        StakeLib.Position memory p = st.load(msg.sender);
        uint256 available = p.value();
        if (amount > available) revert InsufficientStake(available, amount);
        uint256 paid = _burn(p, amount);
        st.save(msg.sender, p);
        emit Withdrawn(node, msg.sender, paid);
        st.transferLink(msg.sender, paid);
    }

    /// @notice Withdraws the caller's whole stake and rewards on `node`.
    /// @return paid Stake plus rewards sent.
    function withdrawAll(address node) external returns (uint256 paid) {
        PoolStorage st = _node(node);
        StakeLib.Position memory p = st.load(msg.sender);
        uint256 principal = p.shares == 0 ? 0 : _burn(p, p.value());
        uint256 rewards = _takeRewards(st, p);
        st.save(msg.sender, p);
        paid = principal + rewards;
        if (paid == 0) revert ZeroAmount();
        if (principal != 0) emit Withdrawn(node, msg.sender, principal);
        if (rewards != 0) emit RewardsClaimed(node, msg.sender, rewards);
        st.transferLink(msg.sender, paid);
    }

    /// @notice Sends the caller's rewards on `node` to the caller.
    function claimRewards(address node) external returns (uint256 rewards) {
        PoolStorage st = _node(node);
        StakeLib.Position memory p = st.load(msg.sender);
        rewards = _takeRewards(st, p);
        if (rewards == 0) revert ZeroAmount();
        st.save(msg.sender, p);
        emit RewardsClaimed(node, msg.sender, rewards);
        st.transferLink(msg.sender, rewards);
    }

    /// @notice Adds the caller's rewards on `node` to its stake (same rules as a new stake).
    function restake(address node) external returns (uint256 amount) {
        PoolStorage st = _node(node);
        _distribute(node, st, 0);
        StakeLib.Position memory p = st.load(msg.sender);
        amount = _takeRewards(st, p);
        uint256 minted = st.admit(p, msg.sender, amount);
        st.save(msg.sender, p);
        emit Restaked(node, msg.sender, amount, minted);
    }

    // ------------------------------------------------------------------------------------------
    // Distribution (anyone)
    // ------------------------------------------------------------------------------------------

    /// @notice Splits the profit `node` received since the last distribution (see the contract notice).
    /// @return profit The juels distributed.
    function distribute(address node) external returns (uint256 profit) {
        return _distribute(node, _node(node), 0);
    }

    /// @notice Distributes `node`'s profit before a new stake of `incoming` juels (already in its
    ///         balance) mints shares, so a new staker never shares profit earned before it joined.
    ///         Only the `NodeStaking` logic.
    function distributeBeforeStake(address node, uint256 incoming) external returns (uint256 profit) {
        if (msg.sender != i_registry.logic(PoolNames.NODE_STAKING)) revert NotNodeStaking(msg.sender);
        return _distribute(node, _node(node), incoming);
    }

    // ------------------------------------------------------------------------------------------
    // Operator settings
    // ------------------------------------------------------------------------------------------

    /// @notice Sets the operator fee (operational-cost rate) in basis points. Profit received
    ///         before the change is distributed first, at the old rate.
    function setOperatorFee(address node, uint256 feeBps) external {
        PoolStorage st = _node(node);
        _onlyOperator(st);
        if (feeBps > PoolKeys.MAX_OPERATOR_FEE_BPS) revert FeeTooHigh(feeBps, PoolKeys.MAX_OPERATOR_FEE_BPS);
        _distribute(node, st, 0);
        st.setUint(PoolKeys.FEE_BPS, feeBps);
        emit OperatorFeeSet(node, feeBps);
    }

    /// @notice Sets the highest total stake (lowering it below the current total only stops new stakes).
    function setStakeLimit(address node, uint256 limit) external {
        PoolStorage st = _node(node);
        _onlyOperator(st);
        st.setUint(PoolKeys.STAKE_LIMIT, limit);
        emit StakeLimitSet(node, limit);
    }

    /// @notice Enables or disables new stakes (operator or pool owner). Exits always work.
    function setEnabled(address node, bool enabled) external {
        PoolStorage st = _node(node);
        if (msg.sender != st.getAddress(PoolKeys.OPERATOR) && msg.sender != i_registry.owner()) {
            revert NotOperatorOrOwner(msg.sender);
        }
        st.setUint(PoolKeys.ENABLED, enabled ? 1 : 0);
        emit EnabledSet(node, enabled);
    }

    /// @notice Makes the node private (only allow-listed stakers may stake) or public.
    function setPrivate(address node, bool isPrivate) external {
        PoolStorage st = _node(node);
        _onlyOperator(st);
        st.setUint(PoolKeys.PRIVATE, isPrivate ? 1 : 0);
        emit PrivateSet(node, isPrivate);
    }

    /// @notice Adds `staker` to / removes it from the private allow-list (existing stake stays).
    function setStakerAllowed(address node, address staker, bool allowed) external {
        PoolStorage st = _node(node);
        _onlyOperator(st);
        st.setBool(PoolKeys.forAccount(PoolKeys.ALLOWED, staker), allowed);
        emit StakerAllowed(node, staker, allowed);
    }

    /// @notice Sends the operator its accrued fees.
    function withdrawOperatorFees(address node) external returns (uint256 amount) {
        PoolStorage st = _node(node);
        _onlyOperator(st);
        amount = st.getUint(PoolKeys.OPERATOR_OWED);
        if (amount == 0) revert ZeroAmount();
        st.setUint(PoolKeys.OPERATOR_OWED, 0);
        emit OperatorFeesWithdrawn(node, msg.sender, amount);
        st.transferLink(msg.sender, amount);
    }

    /// @notice Replaces the operator. Pool owner only. Fees earned so far go to the old operator.
    function setOperator(address node, address operator) external {
        PoolStorage st = _node(node);
        if (msg.sender != i_registry.owner()) revert NotPoolOwner(msg.sender);
        if (operator == address(0)) revert ZeroAddress();
        _distribute(node, st, 0);
        address previous = st.getAddress(PoolKeys.OPERATOR);
        uint256 owed = st.getUint(PoolKeys.OPERATOR_OWED);
        st.setAddress(PoolKeys.OPERATOR, operator);
        emit OperatorSet(node, operator);
        if (owed != 0) {
            st.setUint(PoolKeys.OPERATOR_OWED, 0);
            emit OperatorFeesWithdrawn(node, previous, owed);
            st.transferLink(previous, owed);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Oracle network (operator)
    // ------------------------------------------------------------------------------------------

    /// @notice Sends a penalty deposit as `node`: `link.transferAndCall(target, amount, data)`
    ///         with `target` a whitelisted network contract, e.g. data =
    ///         `abi.encodeCall(ISlaMarket.bid, (slaId))`.
    /// @return bidId The id to settle the deposit with.
    function bid(address node, address target, uint256 amount, bytes calldata data) external returns (uint256 bidId) {
        PoolStorage st = _node(node);
        _onlyOperator(st);
        if (amount == 0) revert ZeroAmount();
        // Only a bid: any other payload (e.g. `propose`) would let the operator spend stake as a
        // purchaser and collect it back as an oracle.
        if (data.length != 36 || bytes4(data[:4]) != ISlaMarket.bid.selector) {
            revert UnsupportedBidPayload(data.length < 4 ? bytes4(0) : bytes4(data[:4]));
        }
        bytes32[] memory keys = new bytes32[](5);
        keys[0] = PoolKeys.RESERVE;
        keys[1] = PoolKeys.OPERATOR_OWED;
        keys[2] = PoolKeys.OWNERS_OWED;
        keys[3] = PoolKeys.LOCKED;
        keys[4] = PoolKeys.BID_COUNT;
        uint256[] memory v = st.getUints(keys);
        uint256 owed = v[0] + v[1] + v[2];
        uint256 balance = i_link.balanceOf(node);
        uint256 free = balance > owed ? balance - owed : 0;
        if (amount > free) revert InsufficientFreeBalance(free, amount);
        bidId = v[4] + 1;
        bytes32[] memory wkeys = new bytes32[](3);
        uint256[] memory values = new uint256[](3);
        wkeys[0] = PoolKeys.LOCKED;
        values[0] = v[3] + amount;
        wkeys[1] = PoolKeys.BID_COUNT;
        values[1] = bidId;
        wkeys[2] = PoolKeys.at(PoolKeys.BID_AMOUNT, bidId);
        values[2] = amount;
        st.setUints(wkeys, values);
        st.setBool(PoolKeys.at(PoolKeys.BID_OPEN, bidId), true);
        st.setAddress(PoolKeys.at(PoolKeys.BID_TARGET, bidId), target);
        emit BidPlaced(node, bidId, target, amount);
        st.bid(target, amount, data);
    }

    /// @notice Calls a whitelisted network contract as `node` (commit, reveal, closeRound, withdraw, ...).
    function forward(address node, address target, bytes calldata data) external returns (bytes memory result) {
        PoolStorage st = _node(node);
        _onlyOperator(st);
        return st.forward(target, data);
    }

    /// @notice Settles penalty deposit `bidId`: `forfeited` juels of it were lost, the rest came
    ///         back (withdraw it from the market before settling). Operator or pool owner.
    function settleBid(address node, uint256 bidId, uint256 forfeited) external {
        PoolStorage st = _node(node);
        if (msg.sender != st.getAddress(PoolKeys.OPERATOR) && msg.sender != i_registry.owner()) {
            revert NotOperatorOrOwner(msg.sender);
        }
        if (!st.getBool(PoolKeys.at(PoolKeys.BID_OPEN, bidId))) revert UnknownBid(bidId);
        bytes32[] memory keys = new bytes32[](10);
        keys[0] = PoolKeys.TOTAL_STAKED;
        keys[1] = PoolKeys.TOTAL_SHARES;
        keys[2] = PoolKeys.LOCKED;
        keys[3] = PoolKeys.EPOCH;
        keys[4] = PoolKeys.ACC;
        keys[5] = PoolKeys.TOTAL_SLASHED;
        keys[6] = PoolKeys.RESERVE;
        keys[7] = PoolKeys.OPERATOR_OWED;
        keys[8] = PoolKeys.OWNERS_OWED;
        keys[9] = PoolKeys.at(PoolKeys.BID_AMOUNT, bidId);
        uint256[] memory v = st.getUints(keys);
        uint256 deposit = v[9];
        if (forfeited > deposit) revert ForfeitTooLarge(deposit, forfeited);
        v[2] -= deposit;
        uint256 slashed;
        bool wiped;
        if (forfeited != 0) {
            v[5] += forfeited;
            (slashed, wiped) = _slash(st, v, forfeited);
        }
        uint256 assets = i_link.balanceOf(node) + v[2];
        uint256 owed = v[0] + v[6] + v[7] + v[8];
        if (assets < owed) revert DepositNotReturned(assets, owed);
        bytes32[] memory wkeys = new bytes32[](5);
        uint256[] memory values = new uint256[](5);
        for (uint256 i = 0; i < 4; ++i) {
            wkeys[i] = keys[i];
            values[i] = v[i];
        }
        wkeys[4] = PoolKeys.TOTAL_SLASHED;
        values[4] = v[5];
        st.setUints(wkeys, values);
        st.setBool(PoolKeys.at(PoolKeys.BID_OPEN, bidId), false);
        emit BidSettled(node, bidId, deposit, forfeited, slashed, wiped);
    }

    /// @notice The registry.
    function registry() external view returns (address) {
        return address(i_registry);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    /// @dev Takes `forfeited` from the stake in `v` = [staked, shares, locked, epoch, acc, ...]:
    ///      every share loses the same value. If nothing (or a negligible rest, see
    ///      `MAX_SHARES_PER_JUEL`) is left, the epoch is wiped: its shares are void, the rest of
    ///      `totalStaked` becomes undistributed profit, and the excess of the forfeit over the
    ///      stake is absorbed by undistributed profit.
    function _slash(PoolStorage st, uint256[] memory v, uint256 forfeited)
        private
        returns (uint256 slashed, bool wiped)
    {
        if (v[1] == 0) return (0, false); // nobody staked: the loss is profit's
        slashed = forfeited < v[0] ? forfeited : v[0];
        uint256 rest = v[0] - slashed;
        if (rest == 0 || v[1] / rest > PoolKeys.MAX_SHARES_PER_JUEL) {
            st.setUint(PoolKeys.at(PoolKeys.ACC_AT_WIPE, v[3]), v[4]);
            v[3] += 1;
            v[0] = 0;
            v[1] = 0;
            wiped = true;
        } else {
            v[0] = rest;
        }
    }

    function _distribute(address node, PoolStorage st, uint256 incoming) private returns (uint256 profit) {
        bytes32[] memory keys = new bytes32[](10);
        keys[0] = PoolKeys.RESERVE;
        keys[1] = PoolKeys.OPERATOR_OWED;
        keys[2] = PoolKeys.OWNERS_OWED;
        keys[3] = PoolKeys.PENDING;
        keys[4] = PoolKeys.ACC;
        keys[5] = PoolKeys.TOTAL_DISTRIBUTED;
        keys[6] = PoolKeys.TOTAL_STAKED;
        keys[7] = PoolKeys.TOTAL_SHARES;
        keys[8] = PoolKeys.LOCKED;
        keys[9] = PoolKeys.FEE_BPS;
        uint256[] memory v = st.getUints(keys);
        profit = StakeLib.profit(i_link.balanceOf(node) - incoming, v[6], v[0] + v[1] + v[2]);
        uint256 fee;
        uint256 owners;
        uint256 stakers;
        if (profit != 0) {
            fee = profit * v[9] / PoolKeys.BPS;
            owners = profit * PoolStorage(i_registry.poolStorage()).getUint(PoolKeys.OWNERS_BPS) / PoolKeys.BPS;
            stakers = profit - fee - owners;
            v[0] += stakers;
            v[1] += fee;
            v[2] += owners;
            v[3] += stakers * PoolKeys.SCALE;
            v[5] += profit;
        }
        uint256 totalShares = v[7];
        bool allocate = totalShares != 0 && v[3] >= totalShares;
        if (allocate) {
            uint256 increment = v[3] / totalShares;
            v[4] += increment;
            v[3] -= increment * totalShares;
        }
        if (profit != 0 || allocate) {
            bytes32[] memory wkeys = new bytes32[](6);
            uint256[] memory values = new uint256[](6);
            for (uint256 i = 0; i < 6; ++i) {
                wkeys[i] = keys[i];
                values[i] = v[i];
            }
            st.setUints(wkeys, values);
            emit Distributed(node, profit, fee, owners, stakers, v[3]);
        }
    }

    /// @dev Burns `amount` of `p`'s stake, refusing to touch stake that backs open deposits.
    function _burn(StakeLib.Position memory p, uint256 amount) private pure returns (uint256 paid) {
        paid = p.burn(amount);
        if (p.totalStaked < p.locked) revert StakeLocked(p.totalStaked, p.locked);
    }

    /// @dev Takes `p`'s whole claimable rewards out of its credit and the node's reserve.
    function _takeRewards(PoolStorage st, StakeLib.Position memory p) private returns (uint256 rewards) {
        rewards = p.claimable();
        if (rewards != 0) {
            p.credit -= rewards * PoolKeys.SCALE;
            st.setUint(PoolKeys.RESERVE, st.getUint(PoolKeys.RESERVE) - rewards);
        }
    }

    function _node(address node) private view returns (PoolStorage) {
        if (!i_registry.isNode(node)) revert UnknownNode(node);
        return PoolStorage(node);
    }

    function _onlyOperator(PoolStorage st) private view {
        if (msg.sender != st.getAddress(PoolKeys.OPERATOR)) revert NotOperator(msg.sender);
    }
}
