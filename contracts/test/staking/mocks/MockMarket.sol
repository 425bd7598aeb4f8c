// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677} from "../../../src/token/IERC677.sol";
import {IERC677Receiver} from "../../../src/token/IERC677Receiver.sol";
import {ISlaMarket} from "../../../src/market/ISlaMarket.sol";

/// @dev A stand-in for the SLA market, with just what a pool node touches: bids arrive as
///      `transferAndCall(market, deposit, abi.encodeCall(ISlaMarket.bid, (slaId)))`, commit /
///      reveal / closeRound are recorded, and credits are pulled with `withdraw()` (paid by
///      plain transfer, or by `transferAndCall` when `payWithCallback` is set). The test decides
///      what happens to deposits with `release` (credited back), `forfeit` (to the purchaser)
///      and `pay` (a payment credited from the market's own LINK).
contract MockMarket is IERC677Receiver {
    IERC677 public immutable link;
    address public constant PURCHASER = address(0xB0B0);

    mapping(address oracle => uint256) public deposits;
    mapping(address oracle => uint256) public credits;
    mapping(uint256 slaId => address[]) internal s_bidders;
    bool public payWithCallback;

    address public lastCaller;
    bytes4 public lastSelector;
    uint256 public calls;

    error OnlyLink();
    error NotABid(bytes4 selector);

    constructor(IERC677 link_) {
        link = link_;
    }

    function onTokenTransfer(address sender, uint256 value, bytes calldata data) external virtual {
        if (msg.sender != address(link)) revert OnlyLink();
        if (bytes4(data) != ISlaMarket.bid.selector) revert NotABid(bytes4(data));
        uint256 slaId = abi.decode(data[4:], (uint256));
        deposits[sender] += value;
        s_bidders[slaId].push(sender);
    }

    function biddersOf(uint256 slaId) external view returns (address[] memory) {
        return s_bidders[slaId];
    }

    function commit(uint256, uint256, bytes32) external virtual {
        _record();
    }

    function reveal(uint256, uint256, int256, bytes32) external {
        _record();
    }

    function closeRound(uint256) external {
        _record();
    }

    function withdraw() external {
        _record();
        uint256 amount = credits[msg.sender];
        credits[msg.sender] = 0;
        if (payWithCallback) link.transferAndCall(msg.sender, amount, "");
        else link.transfer(msg.sender, amount);
    }

    // --- test controls ---

    function setPayWithCallback(bool on) external {
        payWithCallback = on;
    }

    function release(address oracle, uint256 amount) external {
        deposits[oracle] -= amount;
        credits[oracle] += amount;
    }

    function forfeit(address oracle, uint256 amount) external {
        deposits[oracle] -= amount;
        link.transfer(PURCHASER, amount);
    }

    /// @dev Credits a payment; the market must hold the LINK (the test funds it).
    function pay(address oracle, uint256 amount) external {
        credits[oracle] += amount;
    }

    function _record() private {
        lastCaller = msg.sender;
        lastSelector = msg.sig;
        ++calls;
    }
}
