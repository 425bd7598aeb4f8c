// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC677} from "./IERC677.sol";
import {IERC677Receiver} from "./IERC677Receiver.sol";

/// @title LINK: the ERC-20 + ERC-677 token that pays orakel node operators.
/// @notice 18 decimals; the whole fixed supply is minted once, to the holder named at deployment.
///         Tokens can never be sent to the token contract itself.
contract LinkToken is ERC20, IERC677 {
    /// @notice The fixed total supply: one billion tokens with 18 decimals.
    uint256 public constant TOTAL_SUPPLY = 1e27;

    /// @notice Tokens may not be sent to the token contract itself.
    /// @param recipient The rejected recipient.
    error InvalidRecipient(address recipient);

    /// @param holder Receives the whole supply.
    constructor(address holder) ERC20("LINK Token", "LINK") {
        _mint(holder, TOTAL_SUPPLY);
    }

    /// @inheritdoc IERC677
    function transferAndCall(address to, uint256 value, bytes calldata data) external returns (bool success) {
        _transfer(msg.sender, to, value);
        emit Transfer(msg.sender, to, value, data);
        if (to.code.length > 0) {
            IERC677Receiver(to).onTokenTransfer(msg.sender, value, data);
        }
        return true;
    }

    /// @dev Every balance change goes through here: refuse the token contract as a recipient.
    function _update(address from, address to, uint256 value) internal override {
        if (to == address(this)) revert InvalidRecipient(to);
        super._update(from, to, value);
    }
}
