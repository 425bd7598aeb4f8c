// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {Oracle} from "../../src/oracle/Oracle.sol";
import {IOracle} from "../../src/oracle/IOracle.sol";

/// @dev Drives the Oracle with random requests, fulfilments, cancellations, withdrawals and plain
///      transfers while keeping ghost books of what the Oracle should hold.
contract OracleHandler is Test {
    struct Open {
        bytes32 id;
        uint256 payment;
        uint256 expiration;
        uint8 version;
    }

    LinkToken public immutable link;
    Oracle public immutable oracle;

    Open[] internal s_open;
    bytes32[] public closedIds;
    uint256 internal s_nonce;

    uint256 public ghostEscrow;
    uint256 public ghostEarned;
    uint256 public ghostDonated;
    uint256 public ghostWithdrawn;
    uint256 public calls;

    constructor(LinkToken link_, Oracle oracle_) {
        link = link_;
        oracle = oracle_;
    }

    function openCount() external view returns (uint256) {
        return s_open.length;
    }

    function openAt(uint256 i) external view returns (Open memory) {
        return s_open[i];
    }

    function closedCount() external view returns (uint256) {
        return closedIds.length;
    }

    /// @dev The callback the oracle calls; accepts everything.
    function callback(bytes32, uint256) external {}

    function request(uint256 payment, bool operatorEncoding) external {
        calls++;
        payment = bound(payment, 0, link.balanceOf(address(this)) / 4);
        uint256 nonce = ++s_nonce;
        uint8 version = operatorEncoding ? 2 : 1;
        bytes memory payload = operatorEncoding
            ? abi.encodeCall(
                IOracle.operatorRequest, (address(0), 0, bytes32("spec"), this.callback.selector, nonce, 2, hex"6161")
            )
            : abi.encodeCall(
                IOracle.oracleRequest,
                (address(0), 0, bytes32("spec"), address(this), this.callback.selector, nonce, 1, hex"6161")
            );
        link.transferAndCall(address(oracle), payment, payload);
        s_open.push(
            Open({
                id: keccak256(abi.encodePacked(address(this), nonce)),
                payment: payment,
                expiration: block.timestamp + 5 minutes,
                version: version
            })
        );
        ghostEscrow += payment;
    }

    function fulfil(uint256 index, uint256 value, bool multiWord) external {
        calls++;
        if (s_open.length == 0) return;
        Open memory r = _take(index);
        bool ok;
        if (multiWord || r.version == 2) {
            ok = oracle.fulfillOracleRequest2(
                r.id, r.payment, address(this), this.callback.selector, r.expiration, abi.encode(r.id, value)
            );
        } else {
            ok = oracle.fulfillOracleRequest(
                r.id, r.payment, address(this), this.callback.selector, r.expiration, bytes32(value)
            );
        }
        assertTrue(ok, "callback succeeded");
        ghostEscrow -= r.payment;
        ghostEarned += r.payment;
    }

    function cancel(uint256 index, uint256 wait) external {
        calls++;
        if (s_open.length == 0) return;
        Open memory r = _take(index);
        wait = bound(wait, 0, 10 minutes);
        vm.warp(block.timestamp + wait);
        if (block.timestamp < r.expiration) vm.warp(r.expiration);
        oracle.cancelOracleRequest(r.id, r.payment, this.callback.selector, r.expiration);
        ghostEscrow -= r.payment;
    }

    function withdraw(uint256 amount) external {
        calls++;
        amount = bound(amount, 0, oracle.withdrawable());
        oracle.withdraw(address(0xD00D), amount);
        ghostWithdrawn += amount;
    }

    function donate(uint256 amount) external {
        calls++;
        amount = bound(amount, 0, link.balanceOf(address(this)) / 100);
        link.transfer(address(oracle), amount);
        ghostDonated += amount;
    }

    /// @dev Removes a random open request (swap and pop) and records it as closed.
    function _take(uint256 index) private returns (Open memory r) {
        index = bound(index, 0, s_open.length - 1);
        r = s_open[index];
        s_open[index] = s_open[s_open.length - 1];
        s_open.pop();
        closedIds.push(r.id);
    }
}

contract OracleInvariantTest is Test {
    LinkToken internal link;
    Oracle internal oracle;
    OracleHandler internal handler;

    function setUp() public {
        link = new LinkToken(address(this));
        // The handler is both the oracle's owner and its only authorized sender.
        oracle = new Oracle(address(link), address(this));
        handler = new OracleHandler(link, oracle);
        oracle.transferOwnership(address(handler));
        address[] memory senders = new address[](1);
        senders[0] = address(handler);
        vm.prank(address(handler));
        oracle.setAuthorizedSenders(senders);
        link.transfer(address(handler), 1_000_000 ether);

        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = OracleHandler.request.selector;
        selectors[1] = OracleHandler.fulfil.selector;
        selectors[2] = OracleHandler.cancel.selector;
        selectors[3] = OracleHandler.withdraw.selector;
        selectors[4] = OracleHandler.donate.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// LINK held by the Oracle is exactly the escrow plus the withdrawable balance.
    function invariant_balanceIsEscrowPlusWithdrawable() public view {
        assertEq(
            link.balanceOf(address(oracle)), oracle.tokensInEscrow() + oracle.withdrawable(), "balance = escrow + free"
        );
    }

    /// The escrow is the sum of the payments of the open requests.
    function invariant_escrowMatchesOpenRequests() public view {
        assertEq(oracle.tokensInEscrow(), handler.ghostEscrow(), "escrow");
        uint256 sum;
        for (uint256 i = 0; i < handler.openCount(); ++i) {
            sum += handler.openAt(i).payment;
        }
        assertEq(sum, handler.ghostEscrow(), "ghost escrow = open payments");
    }

    /// What the owner can withdraw is exactly earnings plus donations minus withdrawals.
    function invariant_withdrawableMatchesBooks() public view {
        assertEq(
            oracle.withdrawable(),
            handler.ghostEarned() + handler.ghostDonated() - handler.ghostWithdrawn(),
            "withdrawable"
        );
    }

    /// Open requests have a commitment; closed ones have none.
    function invariant_commitmentsTrackOpenRequests() public view {
        for (uint256 i = 0; i < handler.openCount(); ++i) {
            (bytes31 hash,) = oracle.getCommitment(handler.openAt(i).id);
            assertTrue(hash != bytes31(0), "open request has a commitment");
        }
        uint256 closed = handler.closedCount();
        for (uint256 i = closed > 20 ? closed - 20 : 0; i < closed; ++i) {
            (bytes31 hash,) = oracle.getCommitment(handler.closedIds(i));
            assertEq(bytes32(hash), bytes32(0), "closed request has no commitment");
        }
    }

    /// No LINK is created or lost.
    function invariant_supplyConserved() public view {
        assertEq(
            link.balanceOf(address(this)) + link.balanceOf(address(handler)) + link.balanceOf(address(oracle))
                + link.balanceOf(address(0xD00D)),
            link.totalSupply(),
            "supply"
        );
    }
}
