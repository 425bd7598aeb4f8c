// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677} from "../token/IERC677.sol";
import {IERC677Receiver} from "../token/IERC677Receiver.sol";
import {IPoolRegistry, INodeStaking} from "./IPoolRegistry.sol";
import {PoolNames} from "./PoolKeys.sol";

/// @title PoolStorage: one node's LINK and state (eternal storage), and its identity in the oracle network.
/// @notice Holds typed key/value maps that only the pool's logic contracts may write; which
///         contracts those are is asked from the registry at every call, so replacing a logic
///         contract in the registry hands it this storage with every balance and setting intact.
///         Its address is the node's oracle address: bids (LINK `transferAndCall` with a penalty
///         deposit) and calls such as commit / reveal / closeRound / withdraw are sent from here,
///         and only to whitelisted oracle-network contracts.
/// @dev Token movements out of a storage: `transferLink` (logic only: stakers' withdrawals,
///      fees, owners' share) and `bid` (logic only, to a network contract). `forward` refuses the
///      LINK token, so it cannot move tokens. While a `bid` or `forward` is running, every write
///      and every token movement is refused (reentrancy through ERC-677 callbacks or through the
///      called contract), while incoming payments are still accepted.
contract PoolStorage is IERC677Receiver {
    /// @notice Payload of a stake: `link.transferAndCall(storage, amount, abi.encodeWithSelector(STAKE))`.
    bytes4 public constant STAKE = bytes4(keccak256("stake()"));

    IPoolRegistry private immutable i_registry;
    IERC677 private immutable i_link;

    mapping(bytes32 key => uint256) private s_uint;
    mapping(bytes32 key => address) private s_address;
    mapping(bytes32 key => bool) private s_bool;
    mapping(bytes32 key => bytes32) private s_bytes32;
    mapping(bytes32 key => int256) private s_int;
    mapping(bytes32 key => string) private s_string;

    /// @dev Set while a call to a network contract is running.
    bool private transient t_busy;

    /// @notice LINK arrived through `transferAndCall` as a payment or donation (plain transfers emit nothing here).
    event Received(address indexed sender, uint256 amount);
    /// @notice A penalty deposit was sent to a network contract.
    event BidSent(address indexed target, uint256 amount, bytes data);
    /// @notice A call was forwarded to a network contract.
    event Forwarded(address indexed target, bytes4 selector);
    /// @notice LINK was sent out by a logic contract.
    event LinkSent(address indexed to, uint256 amount);

    /// @notice The caller is not a registered logic contract.
    error NotLogic(address caller);
    /// @notice `onTokenTransfer` was not called by the LINK token.
    error OnlyLinkToken(address caller);
    /// @notice The target is not a whitelisted oracle-network contract.
    error NotNetworkContract(address target);
    /// @notice A write or transfer was attempted while a network call is running.
    error Reentrancy();
    /// @notice The `transferAndCall` payload is neither empty nor a stake.
    error UnsupportedPayload();
    /// @notice The LINK token refused a transfer.
    error LinkTransferFailed(address to, uint256 amount);
    /// @notice `setUints` got arrays of different lengths.
    error LengthMismatch();

    /// @param registry_ The registry that resolves logic contracts and the whitelist.
    /// @param link_ The LINK token.
    constructor(address registry_, address link_) {
        i_registry = IPoolRegistry(registry_);
        i_link = IERC677(link_);
    }

    modifier onlyLogic() {
        if (t_busy) revert Reentrancy();
        if (!i_registry.isLogic(msg.sender)) revert NotLogic(msg.sender);
        _;
    }

    /// @notice The registry this storage obeys.
    function registry() external view returns (address) {
        return address(i_registry);
    }

    // ------------------------------------------------------------------------------------------
    // Typed key/value storage
    // ------------------------------------------------------------------------------------------

    function getUint(bytes32 key) external view returns (uint256) {
        return s_uint[key];
    }

    /// @notice Several uints in one call.
    function getUints(bytes32[] calldata keys) external view returns (uint256[] memory values) {
        values = new uint256[](keys.length);
        for (uint256 i = 0; i < keys.length; ++i) {
            values[i] = s_uint[keys[i]];
        }
    }

    function getAddress(bytes32 key) external view returns (address) {
        return s_address[key];
    }

    function getBool(bytes32 key) external view returns (bool) {
        return s_bool[key];
    }

    function getBytes32(bytes32 key) external view returns (bytes32) {
        return s_bytes32[key];
    }

    function getInt(bytes32 key) external view returns (int256) {
        return s_int[key];
    }

    function getString(bytes32 key) external view returns (string memory) {
        return s_string[key];
    }

    function setUint(bytes32 key, uint256 value) external onlyLogic {
        s_uint[key] = value;
    }

    /// @notice Several uints in one call.
    function setUints(bytes32[] calldata keys, uint256[] calldata values) external onlyLogic {
        if (keys.length != values.length) revert LengthMismatch();
        for (uint256 i = 0; i < keys.length; ++i) {
            s_uint[keys[i]] = values[i];
        }
    }

    function setAddress(bytes32 key, address value) external onlyLogic {
        s_address[key] = value;
    }

    function setBool(bytes32 key, bool value) external onlyLogic {
        s_bool[key] = value;
    }

    function setBytes32(bytes32 key, bytes32 value) external onlyLogic {
        s_bytes32[key] = value;
    }

    function setInt(bytes32 key, int256 value) external onlyLogic {
        s_int[key] = value;
    }

    function setString(bytes32 key, string calldata value) external onlyLogic {
        s_string[key] = value;
    }

    // ------------------------------------------------------------------------------------------
    // LINK
    // ------------------------------------------------------------------------------------------

    /// @notice Sends `amount` LINK to `to`. Logic contracts only (withdrawals, fees, owners' share).
    function transferLink(address to, uint256 amount) external onlyLogic {
        emit LinkSent(to, amount);
        if (!i_link.transfer(to, amount)) revert LinkTransferFailed(to, amount);
    }

    /// @notice Sends a penalty deposit: `link.transferAndCall(target, amount, data)`, where `target`
    ///         must be a whitelisted network contract and `data` is chosen by the operator
    ///         (e.g. `abi.encodeCall(ISlaMarket.bid, (slaId))`).
    function bid(address target, uint256 amount, bytes calldata data) external onlyLogic {
        if (!i_registry.isNetworkContract(target)) revert NotNetworkContract(target);
        emit BidSent(target, amount, data);
        t_busy = true;
        i_link.transferAndCall(target, amount, data);
        t_busy = false;
    }

    /// @notice Calls `target` with `data` as this node (commit, reveal, closeRound, withdraw, ...).
    ///         `target` must be a whitelisted network contract (never the LINK token).
    /// @return result What the call returned; a revert is bubbled up.
    function forward(address target, bytes calldata data) external onlyLogic returns (bytes memory result) {
        if (!i_registry.isNetworkContract(target)) revert NotNetworkContract(target);
        // Truncation intended: the selector (zero-padded if data is shorter).
        // forge-lint: disable-next-line(unsafe-typecast)
        emit Forwarded(target, bytes4(data));
        t_busy = true;
        bool success;
        (success, result) = target.call(data);
        t_busy = false;
        if (!success) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @notice LINK arriving with `transferAndCall`: a stake (payload `STAKE`, handed to the
    ///         `NodeStaking` logic), or a payment / donation (empty payload, or any payload from a
    ///         network contract) that simply raises the balance. Plain transfers need no code.
    function onTokenTransfer(address sender, uint256 value, bytes calldata data) external override {
        if (msg.sender != address(i_link)) revert OnlyLinkToken(msg.sender);
        if (data.length == 0 || i_registry.isNetworkContract(sender)) {
            emit Received(sender, value);
            return;
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        if (data.length != 4 || bytes4(data) != STAKE) revert UnsupportedPayload();
        if (t_busy) revert Reentrancy();
        INodeStaking(i_registry.logic(PoolNames.NODE_STAKING)).onStake(sender, value);
    }
}
