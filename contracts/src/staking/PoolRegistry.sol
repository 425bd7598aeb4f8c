// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IPoolRegistry} from "./IPoolRegistry.sol";
import {PoolNames} from "./PoolKeys.sol";
import {PoolStorage} from "./PoolStorage.sol";

/// @title PoolRegistry: the pool's storage factory, logic directory and network whitelist.
/// @notice - Creates every `PoolStorage` (one per node, plus one pool storage for the owners' pot).
///         - Maps each logic name ("LinkPool", "Node", "NodeFactory", "NodeStaking", "PoolOwners")
///           to its current contract. Storages ask `isLogic` at every write, so pointing a name at
///           a new contract hands it every storage at once; any one logic contract can be
///           replaced alone.
///         - Holds the whitelist of oracle-network contracts (market, ...) that storages may send
///           penalty deposits and forwarded calls to.
///         Logic changes and whitelist additions move funds' trust, so once a node exists they
///         take effect only `changeDelay()` seconds after the owner scheduled them (stakers can
///         leave first); with a zero delay, or before the first node, they apply at once.
contract PoolRegistry is IPoolRegistry, Ownable {
    /// @dev A scheduled logic change or whitelist addition.
    struct Pending {
        address target;
        uint256 eta;
    }

    address private immutable i_link;
    address private immutable i_poolStorage;
    uint256 private immutable i_changeDelay;

    mapping(bytes32 name => address) private s_logic;
    mapping(address account => bytes32 name) private s_nameOf;
    mapping(bytes32 name => Pending) private s_pendingLogic;

    mapping(address account => bool) private s_whitelisted;
    address[] private s_whitelist;
    mapping(address account => uint256 position) private s_whitelistPosition; // index + 1
    mapping(address account => uint256 eta) private s_pendingWhitelist;

    mapping(address account => bool) private s_isNode;
    address[] private s_nodes;

    /// @notice `name` now resolves to `logic` (previous: `previous`, which lost write access).
    event LogicSet(bytes32 indexed name, address indexed logic, address previous);
    /// @notice A logic change was scheduled; it can be applied from `eta` on.
    event LogicScheduled(bytes32 indexed name, address indexed logic, uint256 eta);
    /// @notice `account` joined the whitelist of oracle-network contracts.
    event WhitelistAdded(address indexed account);
    /// @notice A whitelist addition was scheduled; it can be applied from `eta` on.
    event WhitelistScheduled(address indexed account, uint256 eta);
    /// @notice `account` left the whitelist.
    event WhitelistRemoved(address indexed account);
    /// @notice A node storage was created.
    event StorageCreated(address indexed storageAddress, uint256 index);

    /// @notice The address has no code.
    error NotAContract(address account);
    /// @notice The address cannot take this role (LINK, the registry, a storage, a logic or a whitelisted contract).
    error ForbiddenAddress(address account);
    /// @notice The contract is already registered under another name.
    error AlreadyRegistered(address account, bytes32 name);
    /// @notice Nothing is scheduled for this name / address.
    error NothingScheduled();
    /// @notice The change cannot be applied before `eta`.
    error TooEarly(uint256 eta);
    /// @notice The address is already whitelisted / not whitelisted.
    error WhitelistUnchanged(address account);
    /// @notice Logic names cannot be empty.
    error EmptyName();
    /// @notice Only the `NodeFactory` logic creates storages.
    error OnlyNodeFactory(address caller);

    /// @param link_ The LINK token.
    /// @param owner_ The pool owner.
    /// @param changeDelay_ Seconds between scheduling and applying a logic change or whitelist
    ///        addition once a node exists (0: immediate, for devnets and tests).
    constructor(address link_, address owner_, uint256 changeDelay_) Ownable(owner_) {
        if (link_.code.length == 0) revert NotAContract(link_);
        i_link = link_;
        i_changeDelay = changeDelay_;
        i_poolStorage = address(new PoolStorage(address(this), link_));
    }

    // ------------------------------------------------------------------------------------------
    // Logic directory
    // ------------------------------------------------------------------------------------------

    /// @notice Points `name` at `impl` (at once, or scheduled: see the contract notice).
    function setLogic(bytes32 name, address impl) external onlyOwner {
        if (name == bytes32(0)) revert EmptyName();
        _checkLogic(impl);
        if (_immediate()) {
            _applyLogic(name, impl);
        } else {
            uint256 eta = block.timestamp + i_changeDelay;
            s_pendingLogic[name] = Pending({target: impl, eta: eta});
            emit LogicScheduled(name, impl, eta);
        }
    }

    /// @notice Applies the logic change scheduled for `name`. Anyone, once it is due.
    function applyLogic(bytes32 name) external {
        Pending memory p = s_pendingLogic[name];
        if (p.target == address(0)) revert NothingScheduled();
        // Delays are days long: a validator's few seconds of timestamp leeway do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < p.eta) revert TooEarly(p.eta);
        delete s_pendingLogic[name];
        _checkLogic(p.target);
        _applyLogic(name, p.target);
    }

    /// @notice A scheduled logic change for `name` (target 0: none).
    function pendingLogic(bytes32 name) external view returns (address target, uint256 eta) {
        Pending memory p = s_pendingLogic[name];
        return (p.target, p.eta);
    }

    /// @inheritdoc IPoolRegistry
    function logic(bytes32 name) external view returns (address) {
        return s_logic[name];
    }

    /// @inheritdoc IPoolRegistry
    function isLogic(address account) public view returns (bool) {
        return s_nameOf[account] != bytes32(0);
    }

    /// @notice The name `account` is registered under (0: none).
    function nameOf(address account) external view returns (bytes32) {
        return s_nameOf[account];
    }

    // ------------------------------------------------------------------------------------------
    // Whitelist of oracle-network contracts
    // ------------------------------------------------------------------------------------------

    /// @notice Whitelists `account` (at once, or scheduled: see the contract notice).
    function addToWhitelist(address account) external onlyOwner {
        _checkNetworkContract(account);
        if (s_whitelisted[account]) revert WhitelistUnchanged(account);
        if (_immediate()) {
            _whitelist(account);
        } else {
            uint256 eta = block.timestamp + i_changeDelay;
            s_pendingWhitelist[account] = eta;
            emit WhitelistScheduled(account, eta);
        }
    }

    /// @notice Applies the whitelist addition scheduled for `account`. Anyone, once it is due.
    function applyWhitelist(address account) external {
        uint256 eta = s_pendingWhitelist[account];
        if (eta == 0) revert NothingScheduled();
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < eta) revert TooEarly(eta);
        delete s_pendingWhitelist[account];
        _checkNetworkContract(account);
        if (s_whitelisted[account]) revert WhitelistUnchanged(account);
        _whitelist(account);
    }

    /// @notice Removes `account` from the whitelist (at once; also cancels a scheduled addition).
    function removeFromWhitelist(address account) external onlyOwner {
        delete s_pendingWhitelist[account];
        if (!s_whitelisted[account]) revert WhitelistUnchanged(account);
        s_whitelisted[account] = false;
        uint256 index = s_whitelistPosition[account] - 1;
        address last = s_whitelist[s_whitelist.length - 1];
        s_whitelist[index] = last;
        s_whitelistPosition[last] = index + 1;
        s_whitelist.pop();
        delete s_whitelistPosition[account];
        emit WhitelistRemoved(account);
    }

    /// @notice Whether `account` is on the whitelist.
    function isWhitelisted(address account) external view returns (bool) {
        return s_whitelisted[account];
    }

    /// @notice The whitelist.
    function whitelist() external view returns (address[] memory) {
        return s_whitelist;
    }

    /// @inheritdoc IPoolRegistry
    function isNetworkContract(address account) external view returns (bool) {
        return s_whitelisted[account] && account != i_link && account != address(this) && !isStorage(account)
            && !isLogic(account);
    }

    // ------------------------------------------------------------------------------------------
    // Storages
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IPoolRegistry
    function createStorage() external returns (address storageAddress) {
        if (msg.sender != s_logic[PoolNames.NODE_FACTORY] || msg.sender == address(0)) {
            revert OnlyNodeFactory(msg.sender);
        }
        storageAddress = address(new PoolStorage(address(this), i_link));
        s_isNode[storageAddress] = true;
        s_nodes.push(storageAddress);
        emit StorageCreated(storageAddress, s_nodes.length - 1);
    }

    /// @inheritdoc IPoolRegistry
    function isNode(address account) external view returns (bool) {
        return s_isNode[account];
    }

    /// @inheritdoc IPoolRegistry
    function isStorage(address account) public view returns (bool) {
        return s_isNode[account] || account == i_poolStorage;
    }

    /// @inheritdoc IPoolRegistry
    function nodes() external view returns (address[] memory) {
        return s_nodes;
    }

    /// @notice Number of nodes.
    function nodeCount() external view returns (uint256) {
        return s_nodes.length;
    }

    /// @inheritdoc IPoolRegistry
    function poolStorage() external view returns (address) {
        return i_poolStorage;
    }

    /// @inheritdoc IPoolRegistry
    function link() external view returns (address) {
        return i_link;
    }

    /// @notice Seconds between scheduling and applying a logic change or whitelist addition.
    function changeDelay() external view returns (uint256) {
        return i_changeDelay;
    }

    /// @inheritdoc IPoolRegistry
    function owner() public view override(IPoolRegistry, Ownable) returns (address) {
        return super.owner();
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _immediate() private view returns (bool) {
        return i_changeDelay == 0 || s_nodes.length == 0;
    }

    function _checkLogic(address impl) private view {
        if (impl.code.length == 0) revert NotAContract(impl);
        if (impl == i_link || isStorage(impl) || s_whitelisted[impl]) revert ForbiddenAddress(impl);
    }

    function _applyLogic(bytes32 name, address impl) private {
        bytes32 registered = s_nameOf[impl];
        if (registered != bytes32(0) && registered != name) revert AlreadyRegistered(impl, registered);
        address previous = s_logic[name];
        if (previous != address(0)) delete s_nameOf[previous];
        s_logic[name] = impl;
        s_nameOf[impl] = name;
        emit LogicSet(name, impl, previous);
    }

    function _checkNetworkContract(address account) private view {
        if (account.code.length == 0) revert NotAContract(account);
        if (account == i_link || account == address(this) || isStorage(account) || isLogic(account)) {
            revert ForbiddenAddress(account);
        }
    }

    function _whitelist(address account) private {
        s_whitelisted[account] = true;
        s_whitelist.push(account);
        s_whitelistPosition[account] = s_whitelist.length;
        emit WhitelistAdded(account);
    }
}
