// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Names under which the pool's logic contracts are registered in the `PoolRegistry`.
library PoolNames {
    bytes32 internal constant LINK_POOL = "LinkPool";
    bytes32 internal constant NODE = "Node";
    bytes32 internal constant NODE_FACTORY = "NodeFactory";
    bytes32 internal constant NODE_STAKING = "NodeStaking";
    bytes32 internal constant POOL_OWNERS = "PoolOwners";
}

/// @title Keys of the eternal storage (`PoolStorage`) and the pool's fixed parameters.
/// @notice The keys are the storage layout: every logic version must derive them the same way,
///         which is what lets one logic contract be replaced without migrating any state.
///         Node settings and accounting live in the node's own `PoolStorage`; the owners' pot
///         lives in the pool storage (`PoolRegistry.poolStorage()`).
library PoolKeys {
    /// @notice Fixed-point scale of the reward accumulators and of credited rewards (36 decimals).
    uint256 internal constant SCALE = 1e36;
    /// @notice Basis-point denominator.
    uint256 internal constant BPS = 10_000;
    /// @notice Highest operator fee (operational-cost rate), basis points.
    uint256 internal constant MAX_OPERATOR_FEE_BPS = 5000;
    /// @notice Highest owners' share, basis points.
    uint256 internal constant MAX_OWNERS_BPS = 5000;
    /// @notice A slash that leaves more than this many shares per juel of stake wipes the stake
    ///         (bounds share inflation, so `amount * totalShares` can never overflow).
    uint256 internal constant MAX_SHARES_PER_JUEL = 1e9;

    // ------------------------------------------------------------------ node settings (uint / address / bool)
    /// @dev address: the operator, who runs the node and manages its settings.
    bytes32 internal constant OPERATOR = keccak256("orakel.pool.node.operator");
    /// @dev uint: operator fee, basis points of each distribution.
    bytes32 internal constant FEE_BPS = keccak256("orakel.pool.node.feeBps");
    /// @dev uint: highest total stake the node accepts.
    bytes32 internal constant STAKE_LIMIT = keccak256("orakel.pool.node.stakeLimit");
    /// @dev uint 0/1: whether the node accepts new stakes.
    bytes32 internal constant ENABLED = keccak256("orakel.pool.node.enabled");
    /// @dev uint 0/1: whether only allow-listed stakers may stake.
    bytes32 internal constant PRIVATE = keccak256("orakel.pool.node.private");
    /// @dev bool, per staker: allow-listed on a private node.
    bytes32 internal constant ALLOWED = keccak256("orakel.pool.node.allowed");

    // ------------------------------------------------------------------ node accounting (uint)
    /// @dev Juels of stake backing the shares (internal accounting, never `balanceOf`).
    bytes32 internal constant TOTAL_STAKED = keccak256("orakel.pool.node.totalStaked");
    /// @dev Shares of the current epoch.
    bytes32 internal constant TOTAL_SHARES = keccak256("orakel.pool.node.totalShares");
    /// @dev Penalty deposits sent to network contracts and not settled yet.
    bytes32 internal constant LOCKED = keccak256("orakel.pool.node.locked");
    /// @dev Incremented when a slash wipes the whole stake; older shares are void.
    bytes32 internal constant EPOCH = keccak256("orakel.pool.node.epoch");
    /// @dev Reward per share, scaled by SCALE (monotonic across epochs).
    bytes32 internal constant ACC = keccak256("orakel.pool.node.acc");
    /// @dev Staker rewards not yet allocated to shares, scaled by SCALE (rounding remainder and
    ///      rewards that arrived while nobody staked).
    bytes32 internal constant PENDING = keccak256("orakel.pool.node.pending");
    /// @dev Juels owed to stakers: RESERVE * SCALE == sum of stakers' credits + PENDING.
    bytes32 internal constant RESERVE = keccak256("orakel.pool.node.reserve");
    /// @dev Juels owed to the operator.
    bytes32 internal constant OPERATOR_OWED = keccak256("orakel.pool.node.operatorOwed");
    /// @dev Juels owed to the owners' pot (not yet collected into the pool storage).
    bytes32 internal constant OWNERS_OWED = keccak256("orakel.pool.node.ownersOwed");
    /// @dev Statistics: total profit distributed, total forfeited.
    bytes32 internal constant TOTAL_DISTRIBUTED = keccak256("orakel.pool.node.totalDistributed");
    bytes32 internal constant TOTAL_SLASHED = keccak256("orakel.pool.node.totalSlashed");
    /// @dev uint, per epoch: ACC when that epoch was wiped.
    bytes32 internal constant ACC_AT_WIPE = keccak256("orakel.pool.node.accAtWipe");
    /// @dev Penalty deposits: count; per id: amount (uint), target (address), open (bool).
    bytes32 internal constant BID_COUNT = keccak256("orakel.pool.node.bidCount");
    bytes32 internal constant BID_AMOUNT = keccak256("orakel.pool.node.bidAmount");
    bytes32 internal constant BID_TARGET = keccak256("orakel.pool.node.bidTarget");
    bytes32 internal constant BID_OPEN = keccak256("orakel.pool.node.bidOpen");

    // ------------------------------------------------------------------ per staker (uint)
    bytes32 internal constant SHARES = keccak256("orakel.pool.staker.shares");
    bytes32 internal constant DEBT = keccak256("orakel.pool.staker.debt");
    bytes32 internal constant CREDIT = keccak256("orakel.pool.staker.credit");
    bytes32 internal constant STAKER_EPOCH = keccak256("orakel.pool.staker.epoch");

    // ------------------------------------------------------------------ pool storage: owners (uint)
    bytes32 internal constant OWNERS_BPS = keccak256("orakel.pool.owners.bps");
    bytes32 internal constant OWNERS_TOTAL_UNITS = keccak256("orakel.pool.owners.totalUnits");
    bytes32 internal constant OWNERS_ACC = keccak256("orakel.pool.owners.acc");
    bytes32 internal constant OWNERS_PENDING = keccak256("orakel.pool.owners.pending");
    bytes32 internal constant OWNERS_RESERVE = keccak256("orakel.pool.owners.reserve");
    bytes32 internal constant OWNER_UNITS = keccak256("orakel.pool.owner.units");
    bytes32 internal constant OWNER_DEBT = keccak256("orakel.pool.owner.debt");
    bytes32 internal constant OWNER_CREDIT = keccak256("orakel.pool.owner.credit");

    /// @notice The key of `field` for `account` .
    function forAccount(bytes32 field, address account) internal pure returns (bytes32 key) {
        key = keccak256(abi.encode(field, account));
    }

    /// @notice The key of `field` for the number `id`.
    function at(bytes32 field, uint256 id) internal pure returns (bytes32 key) {
        key = keccak256(abi.encode(field, id));
    }
}
