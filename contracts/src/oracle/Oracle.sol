// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC677} from "../token/IERC677.sol";
import {IERC677Receiver} from "../token/IERC677Receiver.sol";
import {IOracle} from "./IOracle.sol";

/// @title Oracle: the on-chain endpoint of an orakel node (direct-request model).
/// @notice Requests arrive as LINK `transferAndCall` payments; authorized node addresses answer
///         them with `fulfillOracleRequest` / `fulfillOracleRequest2`; requesters may cancel
///         unanswered requests after `EXPIRY_TIME`. Behaviourally compatible with the widely
///         used operator contract (same events, selectors, commitments and request IDs).
/// @dev Accounting: `s_tokensInEscrow` is the sum of the payments of all open requests; every
///      other LINK the contract holds (earned fees, plain transfers) is `withdrawable()`.
contract Oracle is IOracle, IERC677Receiver, Ownable {
    /// @notice How long a requester must wait before it may cancel a request.
    uint256 public constant EXPIRY_TIME = 5 minutes;
    /// @notice Gas that must be left when the consumer callback is made.
    uint256 public constant MINIMUM_CONSUMER_GAS_LIMIT = 400_000;

    /// @dev Selector plus the two words (sender, payment) that `onTokenTransfer` overwrites.
    uint256 private constant MINIMUM_REQUEST_LENGTH = 4 + 2 * 32;
    /// @dev Highest data version `fulfillOracleRequest` (one word) answers.
    uint256 private constant SINGLE_WORD_DATA_VERSION = 1;
    /// @dev Highest data version `fulfillOracleRequest2` (multi word) answers.
    uint256 private constant MULTI_WORD_DATA_VERSION = 2;

    /// @dev What is stored per open request: the truncated hash of its parameters and its version.
    struct Commitment {
        bytes31 paramsHash;
        uint8 dataVersion;
    }

    IERC677 private immutable i_link;
    mapping(bytes32 requestId => Commitment) private s_commitments;
    uint256 private s_tokensInEscrow;
    mapping(address sender => bool authorized) private s_authorizedSenders;
    address[] private s_authorizedSenderList;

    /// @notice The set of addresses allowed to fulfil requests was replaced.
    /// @param senders The new set.
    /// @param changedBy The account that changed it.
    event AuthorizedSendersChanged(address[] senders, address changedBy);

    /// @notice Earned LINK was withdrawn by the owner.
    /// @param recipient The account that received the LINK.
    /// @param amount The amount withdrawn.
    event LinkWithdrawn(address indexed recipient, uint256 amount);

    /// @notice `onTokenTransfer` was called by someone other than the LINK token.
    error OnlyLinkToken(address caller);
    /// @notice `oracleRequest` / `operatorRequest` were called directly instead of via LINK `transferAndCall`.
    error OnlyInternalRequest(address caller);
    /// @notice The `transferAndCall` payload is too short to be a request.
    error RequestDataTooShort(uint256 length);
    /// @notice The `transferAndCall` payload selects a function other than `oracleRequest` / `operatorRequest`.
    error UnsupportedRequestFunction(bytes4 selector);
    /// @notice A request with this ID is still open.
    error RequestAlreadyExists(bytes32 requestId);
    /// @notice Callbacks to the LINK token are refused (they could move the oracle's tokens).
    error CannotCallbackToLinkToken();
    /// @notice Callbacks to the oracle itself are refused (they would run with the oracle as caller).
    error CannotCallbackToOracle();
    /// @notice The data version does not fit in a uint8.
    error DataVersionTooLarge(uint256 dataVersion);
    /// @notice The caller is not an authorized sender.
    error UnauthorizedSender(address sender);
    /// @notice No open request has this ID (never made, already fulfilled or cancelled).
    error UnknownRequest(bytes32 requestId);
    /// @notice The given request parameters do not hash to the stored commitment.
    error ParamsHashMismatch(bytes32 requestId);
    /// @notice The request was made with a data version the fulfil function does not answer.
    error DataVersionMismatch(bytes32 requestId, uint256 requestVersion, uint256 maximumVersion);
    /// @notice Less than `MINIMUM_CONSUMER_GAS_LIMIT` gas is left for the consumer callback.
    error InsufficientConsumerGas(uint256 available, uint256 required);
    /// @notice `fulfillOracleRequest2` data is shorter than one word.
    error ResponseTooShort(uint256 length);
    /// @notice `fulfillOracleRequest2` data does not start with the request ID.
    error ResponseIdMismatch(bytes32 requestId, bytes32 firstWord);
    /// @notice The request cannot be cancelled before its expiration.
    error RequestNotExpired(uint256 expiration, uint256 currentTime);
    /// @notice `setAuthorizedSenders` needs at least one sender.
    error EmptySenderList();
    /// @notice The zero address cannot be an authorized sender.
    error ZeroAddressSender();
    /// @notice An address appears twice in the new authorized sender list.
    error DuplicateSender(address sender);
    /// @notice The owner asked for more than the withdrawable balance.
    error InsufficientWithdrawableFunds(uint256 requested, uint256 available);
    /// @notice The LINK token refused a transfer.
    error LinkTransferFailed(address recipient, uint256 amount);

    /// @param link The LINK token that pays for requests.
    /// @param owner The account that manages authorized senders and withdraws earnings.
    constructor(address link, address owner) Ownable(owner) {
        i_link = IERC677(link);
    }

    // ------------------------------------------------------------------------------------------
    // Requests
    // ------------------------------------------------------------------------------------------

    /// @notice Entry point of every request: called by the LINK token from `transferAndCall`.
    /// @dev `data` must be the calldata of `oracleRequest` or `operatorRequest`; its first two
    ///      arguments are overwritten with the real `sender` and `amount`, so neither can be spoofed,
    ///      and the call is then made on this contract.
    /// @param sender The account that called `transferAndCall` (the requester).
    /// @param amount The LINK transferred (the payment).
    /// @param data ABI calldata of `oracleRequest` or `operatorRequest`.
    function onTokenTransfer(address sender, uint256 amount, bytes calldata data) external override {
        if (msg.sender != address(i_link)) revert OnlyLinkToken(msg.sender);
        if (data.length < MINIMUM_REQUEST_LENGTH) revert RequestDataTooShort(data.length);
        bytes4 selector = bytes4(data[:4]);
        if (selector != IOracle.oracleRequest.selector && selector != IOracle.operatorRequest.selector) {
            revert UnsupportedRequestFunction(selector);
        }
        bytes memory request = data;
        assembly ("memory-safe") {
            // Layout: [length][selector (4)][sender word][payment word]...
            mstore(add(request, 36), sender)
            mstore(add(request, 68), amount)
        }
        (bool success, bytes memory returned) = address(this).call(request);
        if (!success) {
            assembly ("memory-safe") {
                revert(add(returned, 32), mload(returned))
            }
        }
    }

    /// @inheritdoc IOracle
    function oracleRequest(
        address sender,
        uint256 payment,
        bytes32 specId,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 nonce,
        uint256 dataVersion,
        bytes calldata data
    ) external override {
        if (msg.sender != address(this)) revert OnlyInternalRequest(msg.sender);
        (bytes32 requestId, uint256 expiration) =
            _createCommitment(sender, payment, callbackAddress, callbackFunctionId, nonce, dataVersion);
        emit OracleRequest(
            specId, sender, requestId, payment, callbackAddress, callbackFunctionId, expiration, dataVersion, data
        );
    }

    /// @inheritdoc IOracle
    function operatorRequest(
        address sender,
        uint256 payment,
        bytes32 specId,
        bytes4 callbackFunctionId,
        uint256 nonce,
        uint256 dataVersion,
        bytes calldata data
    ) external override {
        if (msg.sender != address(this)) revert OnlyInternalRequest(msg.sender);
        (bytes32 requestId, uint256 expiration) =
            _createCommitment(sender, payment, sender, callbackFunctionId, nonce, dataVersion);
        emit OracleRequest(
            specId, sender, requestId, payment, sender, callbackFunctionId, expiration, dataVersion, data
        );
    }

    // ------------------------------------------------------------------------------------------
    // Fulfilment and cancellation
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IOracle
    function fulfillOracleRequest(
        bytes32 requestId,
        uint256 payment,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 expiration,
        bytes32 data
    ) external override returns (bool success) {
        _settle(requestId, payment, callbackAddress, callbackFunctionId, expiration, SINGLE_WORD_DATA_VERSION);
        emit OracleResponse(requestId);
        _requireConsumerGas();
        // A failing callback must not undo the fulfilment: its result is only reported.
        (success,) = callbackAddress.call(abi.encodeWithSelector(callbackFunctionId, requestId, data));
    }

    /// @inheritdoc IOracle
    function fulfillOracleRequest2(
        bytes32 requestId,
        uint256 payment,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 expiration,
        bytes calldata data
    ) external override returns (bool success) {
        if (data.length < 32) revert ResponseTooShort(data.length);
        bytes32 firstWord = bytes32(data[:32]);
        if (firstWord != requestId) revert ResponseIdMismatch(requestId, firstWord);
        _settle(requestId, payment, callbackAddress, callbackFunctionId, expiration, MULTI_WORD_DATA_VERSION);
        emit OracleResponse(requestId);
        _requireConsumerGas();
        (success,) = callbackAddress.call(abi.encodePacked(callbackFunctionId, data));
    }

    /// @inheritdoc IOracle
    function cancelOracleRequest(bytes32 requestId, uint256 payment, bytes4 callbackFunc, uint256 expiration)
        external
        override
    {
        bytes31 paramsHash = _paramsHash(payment, msg.sender, callbackFunc, expiration);
        Commitment memory commitment = s_commitments[requestId];
        if (commitment.paramsHash == bytes31(0)) revert UnknownRequest(requestId);
        if (commitment.paramsHash != paramsHash) revert ParamsHashMismatch(requestId);
        // The 5-minute cancel window is coarse: a validator's timestamp leeway does not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (expiration > block.timestamp) revert RequestNotExpired(expiration, block.timestamp);

        delete s_commitments[requestId];
        s_tokensInEscrow -= payment;
        emit CancelOracleRequest(requestId);

        _transferLink(msg.sender, payment);
    }

    // ------------------------------------------------------------------------------------------
    // Owner functions
    // ------------------------------------------------------------------------------------------

    /// @notice Replaces the set of addresses allowed to fulfil requests.
    /// @param senders The new set: non-empty, no zero address, no duplicates.
    function setAuthorizedSenders(address[] calldata senders) external onlyOwner {
        if (senders.length == 0) revert EmptySenderList();
        address[] storage current = s_authorizedSenderList;
        for (uint256 i = 0; i < current.length; ++i) {
            s_authorizedSenders[current[i]] = false;
        }
        for (uint256 i = 0; i < senders.length; ++i) {
            address sender = senders[i];
            if (sender == address(0)) revert ZeroAddressSender();
            if (s_authorizedSenders[sender]) revert DuplicateSender(sender);
            s_authorizedSenders[sender] = true;
        }
        s_authorizedSenderList = senders;
        emit AuthorizedSendersChanged(senders, msg.sender);
    }

    /// @notice Sends earned (not escrowed) LINK to `recipient`.
    /// @param recipient The account to pay.
    /// @param amount The amount; at most `withdrawable()`.
    function withdraw(address recipient, uint256 amount) external onlyOwner {
        uint256 available = withdrawable();
        if (amount > available) revert InsufficientWithdrawableFunds(amount, available);
        emit LinkWithdrawn(recipient, amount);
        _transferLink(recipient, amount);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The LINK the owner may withdraw: everything held minus the escrow of open requests.
    /// @return amount The withdrawable amount.
    function withdrawable() public view returns (uint256 amount) {
        return i_link.balanceOf(address(this)) - s_tokensInEscrow;
    }

    /// @notice The sum of the payments of all open requests.
    /// @return amount The escrowed amount.
    function tokensInEscrow() external view returns (uint256 amount) {
        return s_tokensInEscrow;
    }

    /// @notice The addresses allowed to fulfil requests.
    /// @return senders The current set.
    function getAuthorizedSenders() external view returns (address[] memory senders) {
        return s_authorizedSenderList;
    }

    /// @notice Whether `sender` may fulfil requests.
    /// @param sender The address to check.
    /// @return authorized True if it may.
    function isAuthorizedSender(address sender) external view returns (bool authorized) {
        return s_authorizedSenders[sender];
    }

    /// @notice The stored commitment of a request; zero values if it is not open.
    /// @param requestId The request to look up.
    /// @return paramsHash The first 31 bytes of keccak256(payment, callbackAddress, callbackFunctionId, expiration).
    /// @return dataVersion The request's data version.
    function getCommitment(bytes32 requestId) external view returns (bytes31 paramsHash, uint8 dataVersion) {
        Commitment memory commitment = s_commitments[requestId];
        return (commitment.paramsHash, commitment.dataVersion);
    }

    /// @notice The LINK token this oracle is paid in (name used by existing tooling).
    /// @return link The token address.
    function getChainlinkToken() external view returns (address link) {
        return address(i_link);
    }

    /// @notice The LINK token this oracle is paid in.
    /// @return link The token address.
    function linkToken() external view returns (address link) {
        return address(i_link);
    }

    /// @notice The contract type and version.
    /// @return The string "Oracle 1.0.0".
    function typeAndVersion() external pure returns (string memory) {
        return "Oracle 1.0.0";
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _createCommitment(
        address sender,
        uint256 payment,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 nonce,
        uint256 dataVersion
    ) private returns (bytes32 requestId, uint256 expiration) {
        if (callbackAddress == address(i_link)) revert CannotCallbackToLinkToken();
        if (callbackAddress == address(this)) revert CannotCallbackToOracle();
        if (dataVersion > type(uint8).max) revert DataVersionTooLarge(dataVersion);
        requestId = keccak256(abi.encodePacked(sender, nonce));
        if (s_commitments[requestId].paramsHash != bytes31(0)) revert RequestAlreadyExists(requestId);

        expiration = block.timestamp + EXPIRY_TIME;
        s_commitments[requestId] = Commitment({
            paramsHash: _paramsHash(payment, callbackAddress, callbackFunctionId, expiration),
            // casting to 'uint8' is safe because dataVersion <= type(uint8).max was checked above
            // forge-lint: disable-next-line(unsafe-typecast)
            dataVersion: uint8(dataVersion)
        });
        s_tokensInEscrow += payment;
    }

    /// @dev Checks the caller and the commitment, closes the request and releases its payment
    ///      from escrow into the withdrawable balance.
    function _settle(
        bytes32 requestId,
        uint256 payment,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 expiration,
        uint256 maximumVersion
    ) private {
        if (!s_authorizedSenders[msg.sender]) revert UnauthorizedSender(msg.sender);
        Commitment memory commitment = s_commitments[requestId];
        if (commitment.paramsHash == bytes31(0)) revert UnknownRequest(requestId);
        if (commitment.paramsHash != _paramsHash(payment, callbackAddress, callbackFunctionId, expiration)) {
            revert ParamsHashMismatch(requestId);
        }
        if (commitment.dataVersion > maximumVersion) {
            revert DataVersionMismatch(requestId, commitment.dataVersion, maximumVersion);
        }
        delete s_commitments[requestId];
        s_tokensInEscrow -= payment;
    }

    function _requireConsumerGas() private view {
        uint256 available = gasleft();
        if (available < MINIMUM_CONSUMER_GAS_LIMIT) {
            revert InsufficientConsumerGas(available, MINIMUM_CONSUMER_GAS_LIMIT);
        }
    }

    function _transferLink(address recipient, uint256 amount) private {
        if (!i_link.transfer(recipient, amount)) revert LinkTransferFailed(recipient, amount);
    }

    function _paramsHash(uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration)
        private
        pure
        returns (bytes31)
    {
        return bytes31(keccak256(abi.encodePacked(payment, callbackAddress, callbackFunctionId, expiration)));
    }
}
