// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Receiver side of ERC-677 `transferAndCall`.
interface IERC677Receiver {
    /// @notice Called by an ERC-677 token after it transferred `value` tokens to this contract.
    /// @param sender The account that called `transferAndCall`.
    /// @param value The amount received.
    /// @param data The payload given to `transferAndCall`.
    function onTokenTransfer(address sender, uint256 value, bytes calldata data) external;
}
