// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {IERC677} from "../../src/token/IERC677.sol";
import {ERC677ReceiverMock, NotAReceiver} from "../mocks/ERC677ReceiverMock.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

contract LinkTokenTest is Test {
    LinkToken internal link;
    address internal holder;
    address internal alice;

    function setUp() public {
        holder = makeAddr("holder");
        alice = makeAddr("alice");
        link = new LinkToken(holder);
    }

    function test_metadataAndSupply() public view {
        assertEq(link.name(), "LINK Token", "name");
        assertEq(link.symbol(), "LINK", "symbol");
        assertEq(uint256(link.decimals()), 18, "decimals");
        assertEq(link.totalSupply(), 1e27, "supply");
        assertEq(link.balanceOf(holder), 1e27, "all to holder");
    }

    function test_transferAndCall_toEoa() public {
        vm.expectEmit(true, true, false, true, address(link));
        emit IERC20.Transfer(holder, alice, 5 ether);
        vm.expectEmit(true, true, false, true, address(link));
        emit IERC677.Transfer(holder, alice, 5 ether, hex"c0ffee");
        vm.prank(holder);
        assertTrue(link.transferAndCall(alice, 5 ether, hex"c0ffee"), "returns true");
        assertEq(link.balanceOf(alice), 5 ether, "received");
    }

    function testFuzz_transferAndCall_notifiesContract(uint256 amount, bytes memory data) public {
        amount = bound(amount, 0, 1e27);
        ERC677ReceiverMock receiver = new ERC677ReceiverMock();
        vm.prank(holder);
        link.transferAndCall(address(receiver), amount, data);
        assertEq(receiver.calls(), 1, "called once");
        assertEq(receiver.lastSender(), holder, "sender");
        assertEq(receiver.lastValue(), amount, "value");
        assertEq(receiver.lastData(), data, "data");
        assertEq(link.balanceOf(address(receiver)), amount, "balance before callback");
    }

    function test_transferAndCall_toContractWithoutHookReverts() public {
        NotAReceiver target = new NotAReceiver();
        vm.prank(holder);
        vm.expectRevert();
        link.transferAndCall(address(target), 1, "");
    }

    function testFuzz_transferAndCall_insufficientBalanceReverts(uint256 amount) public {
        amount = bound(amount, 1, type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, uint256(0), amount)
        );
        vm.prank(alice);
        link.transferAndCall(holder, amount, "");
    }

    function test_cannotSendToToken() public {
        vm.startPrank(holder);
        vm.expectRevert(abi.encodeWithSelector(LinkToken.InvalidRecipient.selector, address(link)));
        link.transfer(address(link), 1);
        vm.expectRevert(abi.encodeWithSelector(LinkToken.InvalidRecipient.selector, address(link)));
        link.transferAndCall(address(link), 1, "");
        link.approve(alice, 1);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(LinkToken.InvalidRecipient.selector, address(link)));
        vm.prank(alice);
        link.transferFrom(holder, address(link), 1);
    }

    function test_transferAndCall_toZeroReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(holder);
        link.transferAndCall(address(0), 1, "");
    }
}
