// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ERC-677: an ERC-20 token that can notify the recipient contract in the same transaction.
interface IERC677 is IERC20 {
    /// @notice Emitted by `transferAndCall` in addition to the ERC-20 `Transfer` event.
    /// @param from The account the tokens were taken from.
    /// @param to The recipient of the tokens.
    /// @param value The amount transferred.
    /// @param data The payload handed to the recipient's `onTokenTransfer`.
    event Transfer(address indexed from, address indexed to, uint256 value, bytes data);

    /// @notice Transfers `value` tokens to `to` and, when `to` is a contract, calls
    ///         `IERC677Receiver(to).onTokenTransfer(msg.sender, value, data)`.
    /// @param to The recipient.
    /// @param value The amount to transfer.
    /// @param data Arbitrary payload for the recipient.
    /// @return success Always true; any failure reverts.
    function transferAndCall(address to, uint256 value, bytes calldata data) external returns (bool success);
}
