"""Generate ``schema_v17.json`` / ``schema_v18.json`` (the Odoo tables creditctl touches) from Odoo's own field definitions.

Usage::

    python -m connectors.odoo.gen_schema --version 17 SOURCE [--commit SHA] [--repository OWNER/NAME]
    python connectors/odoo/gen_schema.py --version 18 SOURCE ...   # the same, without importing the package

``SOURCE`` is either

* a git repository (bare or not) holding an Odoo Community tree (``odoo/``, ``addons/``): files are
  read at ``--commit`` (default HEAD); or
* a plain folder (the "sources manifest" mode): the pinned files of :data:`PINNED` at their
  repository paths, e.g. downloaded one by one to /tmp. Only the files present are read.

Either way every file the output depends on must have exactly the git blob id :data:`PINNED`
gives for that version, and ``odoo/release.py`` must say ``version_info = (17, 0, …)`` /
``(18, 0, …)``: the generator refuses anything else (public copies of Odoo mix branches and
patch files). ``--unpinned`` skips the blob check and prints the pins of what was read (for a
reviewed update of :data:`PINNED` only).

Nothing of Odoo is copied into this project and nothing of it is imported: the model files are
parsed with :mod:`ast`. The output holds facts only (table, column, index and constraint names,
PostgreSQL types, nullability, foreign keys) plus the list of every file read, with repository,
commit, path and git blob id. CI never runs this script; tests use its output.

The rules are Odoo's, as its ORM creates a model's table (``odoo/fields.py``, ``odoo/models.py``,
``odoo/modules/registry.py`` ``check_indexes``, ``odoo/tools/sql.py``), reimplemented here and
checked against the pinned blobs of those files:

* Modules: the dependency closure of ``sale`` (``depends`` of each ``__manifest__.py``), in
  Odoo's loading order (dependencies first). Auto-install modules are not added.
* Models: a class with ``_name`` (not in its ``_inherit``) defines a model whose parents are
  its ``_inherit``; a class with ``_inherit`` only extends ``_inherit[0]``. A model's fields are
  its parents' fields, then its own, extension after extension in module order; the attributes
  of successive definitions of one field are merged (Odoo's ``_setup_attrs``), restarting when
  the field class changes.
* Stored fields only: a field with ``compute`` or ``related`` is not stored unless
  ``store=True``; ``One2many`` / ``Many2many`` have no column in the model's table (a Many2many
  has a relation table, below);
  ``Binary`` / ``Image`` are attachments (no column) unless ``attachment=False``;
  ``company_dependent``: 17 no column (values in ``ir_property``), 18 a ``jsonb`` column with a
  ``btree_not_null`` index by default.
* Types (``column_type``): Boolean ``bool``, Integer / Many2one / Many2oneReference ``int4``,
  Float ``numeric`` when ``digits`` is given (even falsy) else ``float8``, Monetary ``numeric``,
  Char ``varchar`` / ``varchar(size)``, Text / Html ``text``, Selection / Reference ``varchar``,
  Date ``date``, Datetime ``timestamp``, Json / Properties / PropertiesDefinition ``jsonb``,
  Binary with ``attachment=False`` ``bytea``; translated Char / Text / Html ``jsonb``.
* Magic columns: ``id`` (``SERIAL NOT NULL``, primary key) and, when ``_log_access`` (default
  ``_auto``), ``create_uid`` / ``write_uid`` (Many2one res.users) and ``create_date`` /
  ``write_date`` (Datetime), unless the class defines them itself.
* Nullability: ``required=True`` stored fields are NOT NULL; everything else is nullable. Odoo
  sets no database defaults (the ORM applies defaults): a literal ORM default is listed as
  ``orm_default`` for information only.
* Many2one: a foreign key to the comodel's table, ``ON DELETE`` its ``ondelete`` (default
  ``restrict`` when required, else ``set null``).
* Indexes (``check_indexes``): ``index=True`` / ``'btree'`` a btree index
  ``<table>__<column>_index``; ``'btree_not_null'`` the same with ``WHERE col IS NOT NULL``;
  ``'trigram'`` a GIN ``gin_trgm_ops`` index (only with pg_trgm; on the jsonb values when
  translated); no index on other translated fields. ``_sql_constraints`` (merged over parents and
  extensions) as ``<table>_<name>`` table constraints.
* Many2many relation tables (``class Many2many`` in ``odoo/fields.py``, the same in 17.0 and
  18.0), for the stored Many2many fields of the generated models whose comodel is a generated
  model too. ``setup_nonrelated``: ``relation`` defaults to ``<t1>_<t2>_rel`` from the two
  model tables sorted (refused for a model with itself), ``column1`` to ``<model table>_id``,
  ``column2`` to ``<comodel table>_id``; ``ondelete`` (default ``cascade``) may only be ``cascade``
  or ``restrict``. ``update_db`` creates ``CREATE TABLE rel (column1 INTEGER NOT NULL, column2
  INTEGER NOT NULL, PRIMARY KEY(column1, column2))`` (PostgreSQL names the key ``<rel>_pkey``),
  ``COMMENT ON TABLE rel IS 'RELATION BETWEEN <model table> AND <comodel table>'`` and an unnamed
  ``CREATE INDEX ON rel (column2, column1)`` (PostgreSQL names it ``<rel>_<column2>_<column1>_idx``,
  cut to 63 characters by its ``makeObjectName`` rule). ``update_db_foreign_keys``: ``column1``
  references the model's table ``ON DELETE CASCADE`` (added only if not already expected,
  ``force=False``), ``column2`` the comodel's ``ON DELETE <ondelete>`` (forced). The relation
  table has no other column (no ``id``, no magic columns). Two fields naming the same table (the
  two sides of one relation, e.g. ``sale.order.line.invoice_lines`` / ``account.move.line.
  sale_line_ids``) give one table, created by the field loaded first (module order, then the
  import order of the module's ``models/__init__.py``): its columns in its order, its index;
  each column's foreign key is the ``ondelete`` of the field whose ``column2`` it is. In the
  output such a table has ``"model": null``, ``"relation"`` (the creating field), ``"inverse"``
  (the other fields), ``"comment"``, ``"primary_key"`` (name, columns) and both columns with
  ``"primary_key": true``.

Not reflected: indexes created by raw SQL in a model's ``init()``, auto-install modules, the
relation tables of Many2many fields whose comodel is not generated, columns that ``_inherits``
delegation implies on the parent table. The creating field of a shared relation table is found
from module and file import order only (a file importing another module file earlier, or a
field that reaches a model through a mixin, could change it in Odoo).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VERSIONS = (17, 18)
ROOT_MODULE = "sale"

#: models whose tables creditctl reads or writes (or its tests store into), per Odoo version
MODELS = {
    17: ("res.company", "res.currency", "res.currency.rate", "res.country", "res.partner",
         "res.partner.industry", "ir.model.fields", "ir.property", "ir.default", "account.payment.term",
         "account.payment.term.line", "account.account", "account.journal", "account.move",
         "account.move.line", "account.partial.reconcile", "account.payment", "sale.order",
         "sale.order.line", "ir.module.module", "product.product", "product.template", "uom.uom"),
    18: ("res.company", "res.currency", "res.currency.rate", "res.country", "res.partner",
         "res.partner.industry", "ir.model.fields", "ir.default", "account.payment.term",
         "account.payment.term.line", "account.account", "account.journal", "account.move",
         "account.move.line", "account.partial.reconcile", "account.payment", "sale.order",
         "sale.order.line", "ir.module.module", "product.product", "product.template", "uom.uom"),
}

#: Odoo's files whose table-creation rules this generator reimplements
RULE_FILES = {
    "release": "odoo/release.py",
    "fields": "odoo/fields.py",
    "models": "odoo/models.py",
    "registry": "odoo/modules/registry.py",
    "sql": "odoo/tools/sql.py",
}

FIELD_CLASSES = {"Boolean", "Integer", "Float", "Monetary", "Char", "Text", "Html", "Date", "Datetime",
                 "Binary", "Image", "Selection", "Reference", "Many2one", "Many2oneReference", "Json",
                 "Properties", "PropertiesDefinition", "One2many", "Many2many", "Id"}
SIMPLE_TYPES = {"Boolean": "bool", "Integer": "int4", "Monetary": "numeric", "Date": "date",
                "Datetime": "timestamp", "Many2one": "int4", "Many2oneReference": "int4", "Json": "jsonb",
                "Properties": "jsonb", "PropertiesDefinition": "jsonb", "Selection": "varchar",
                "Reference": "varchar"}
#: positional parameters of each field class's constructor (odoo/fields.py)
POSITIONAL = {"Many2one": ("comodel_name", "string"), "One2many": ("comodel_name", "inverse_name", "string"),
              "Many2many": ("comodel_name", "relation", "column1", "column2", "string"),
              "Selection": ("selection", "string"), "Reference": ("selection", "string"),
              "Float": ("string", "digits"), "Monetary": ("string", "currency_field"),
              "Many2oneReference": ("string", "model_field")}
NOT_LITERAL = "<expression>"


class GenerationError(Exception):
    """The sources are not what the generator expects (say which, and what to check)."""


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (the same in a checkout and in the repository)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id, not security


# --------------------------------------------------------------------------- the pins

#: per version: the copy the files were read from, and the git blob id of every file the output
#: depends on. A file with another blob is refused; a reviewed regeneration with ``--unpinned``
#: prints new pins.
PINNED: dict[int, dict[str, Any]] = {
    17: {
        "repository": "UmmeHani-SCI/Odoo17-UH_Hospital_Management",
        "commit": "a6ec4682c7cd1dcd0a870a1101199d3336da62a3",
        "files": {
            "addons/account/__manifest__.py": "c9c874ad9918b51c6dc87cdddae477b49927079c",
            "addons/account/models/account_account.py": "805473f25e4140344d767655786c6df3c4557410",
            "addons/account/models/account_analytic_account.py": "8ff99d8aacc5533602b91c519517e1e5f53bb08a",
            "addons/account/models/account_bank_statement.py": "a01be31655c14a2226e10208190a23a411820994",
            "addons/account/models/account_bank_statement_line.py": "c154aca83d22f056474d26d090256b20929026db",
            "addons/account/models/account_cash_rounding.py": "139a764cad5f306699755ae4aead786071957cce",
            "addons/account/models/account_full_reconcile.py": "519a7c0e78b9e37e0b230731e379e81fb7776493",
            "addons/account/models/account_incoterms.py": "3c64715458717f97b58786e8b8ea5e5ef88438a5",
            "addons/account/models/account_journal.py": "0729ec520d08a274b03dd1b596be243d23575d59",
            "addons/account/models/account_journal_dashboard.py": "99211f6fd8dfd46ff7faee04b2c97b1bb9809084",
            "addons/account/models/account_move.py": "04bafb7efb7a5073887917ce0a805beeb86c67ac",
            "addons/account/models/account_move_line.py": "dc094d1f5d634a4b502c80c6b28f84023501e11e",
            "addons/account/models/account_move_line_tax_details.py": "03f3bff17301a8e2316b1e633fbea7755cb0a135",
            "addons/account/models/account_partial_reconcile.py": "78c69b715f0109a786e834e103bedaa8d98d2ec2",
            "addons/account/models/account_payment.py": "c6eeb091373ae44543a615f1c2fb65b091885a5e",
            "addons/account/models/account_payment_method.py": "62d1c0055e3e692e31d6fa9c2909c24e502c2ffd",
            "addons/account/models/account_payment_term.py": "dd28b7d5f37e357831785aa03864ed6af8dc56f0",
            "addons/account/models/account_reconcile_model.py": "40f969a063424d5c567693a21329b41bee26bc26",
            "addons/account/models/account_tax.py": "9c5517c6a5edd4208266e1d0cb06992996a9bfc7",
            "addons/account/models/company.py": "b048323211b5c7d668b30bc060e0ead747ee319a",
            "addons/account/models/ir_attachment.py": "d5ae8bd63aee6eda1829e814c57da002da9a0c60",
            "addons/account/models/partner.py": "3b607421b682ec4b4547bd5a848d63fff008522c",
            "addons/account/models/product.py": "7782f9fb7b46d1a80e1bfe986f444c4b8a11ad43",
            "addons/account/models/res_currency.py": "4b98f47931d2375b7970e0ac8191fe6721a821c8",
            "addons/account/models/res_partner_bank.py": "4c7874a62b26b3abe1666265397beabada6e88dd",
            "addons/account/models/sequence_mixin.py": "66641ddb3c85d07a096aaec331dc22ce69bc7221",
            "addons/account/models/uom_uom.py": "2d104f6cd2386dd592064feb7308a231e1ad2e57",
            "addons/account_payment/__manifest__.py": "cdf165db8c47433a09d6f67dd69664c6ab96b2e6",
            "addons/account_payment/models/account_journal.py": "a469ded0a6179de11b611258f3f63b00385c0203",
            "addons/account_payment/models/account_move.py": "caa6808f9c47a6b675c303dc359541bac46807c8",
            "addons/account_payment/models/account_payment.py": "2a403980ac47eaa761c3b089f67fa893909db71f",
            "addons/account_payment/models/account_payment_method.py": "48aa83d87f7fba0b0f4e58ae10286530b3553170",
            "addons/account_payment/models/account_payment_method_line.py": "be96fa66ede3afbb23721aa3bb6c1ea16ce4aa85",
            "addons/account_payment/models/payment_transaction.py": "4b8a0227c0bcd0016c1e9194d3839d997d59c561",
            "addons/analytic/__manifest__.py": "21f0f6f933e94ad43bb669bcb764b46dd144b222",
            "addons/analytic/models/analytic_account.py": "b3763d4c5b77b28b21c70fbe96ad0e107f2334a5",
            "addons/analytic/models/analytic_mixin.py": "8b23bc6d4b336427464e2159cd444bda032dd07a",
            "addons/auth_signup/__manifest__.py": "a294e54423f580248f8feb16a8ae00765e5e25b5",
            "addons/auth_signup/models/res_partner.py": "21a88dc0fe288e134188a84c1977af5cf0d710f3",
            "addons/auth_signup/models/res_users.py": "7d418187ee47dad8061c968f393046f4fc8f989a",
            "addons/base_setup/__manifest__.py": "20041bbcfc9f8eb816f2043a3b2247ec3f84ad82",
            "addons/base_setup/models/res_users.py": "ab990db83a27beb4376075c02badd6562bf63d86",
            "addons/bus/__manifest__.py": "d29765fe5d8cee9d37d0eece218a78a11c4136f1",
            "addons/bus/models/ir_model.py": "b673c6b089e31af3f4a2d6bcd6e6ff2772dc82e2",
            "addons/bus/models/res_partner.py": "4b992c5286b8c9ebbcf6f705ab44e2c1a75a6ef9",
            "addons/bus/models/res_users.py": "b2a99894a131e36ffc9e0d5c3c5a3e1c601d5b10",
            "addons/digest/__manifest__.py": "dd740e9c93c92f4805128041c8124bd1041d91c7",
            "addons/digest/models/res_users.py": "4488455454832441de947a9e8c49eedcc5214fc9",
            "addons/http_routing/__manifest__.py": "965d7c204f4bcdf32aaab087c73fa9e517f8682d",
            "addons/mail/__manifest__.py": "96124292bf8d13ba6ba01006f2336f9a1e0db498",
            "addons/mail/models/discuss/ir_attachment.py": "301fb6c73e9228c3812d132fc717b127f08d5284",
            "addons/mail/models/discuss/res_partner.py": "94097dbc7880cb5154d1fadb8420f64f3bea1b61",
            "addons/mail/models/discuss/res_users.py": "7f20ce5d366220d291a2de4f17847262750cb0b4",
            "addons/mail/models/ir_attachment.py": "d5ddd1d6893a8f3e59baa01bd802339c0420581c",
            "addons/mail/models/ir_model.py": "15247d322e7c8a60647e0cf11bf7a24aaae77b53",
            "addons/mail/models/ir_model_fields.py": "b1b1b3d622c132b05e11d0188d20037764b33162",
            "addons/mail/models/ir_ui_view.py": "a819c0bbfa053fab696c02fca863bc61d6f9f078",
            "addons/mail/models/mail_activity_mixin.py": "42b5de4dbc9451a605cd1f18ad69452dd4bebcdd",
            "addons/mail/models/mail_activity_type.py": "91a33204ec1a387e5d35295427989b3af57043ba",
            "addons/mail/models/mail_alias.py": "31bbd805b28defed4ed53475c101e0dfa89050c4",
            "addons/mail/models/mail_alias_domain.py": "6576318f4faad115afd0801c46a0dfc7de3aba0b",
            "addons/mail/models/mail_alias_mixin_optional.py": "00b9371961f4f4745f741521f189bdfb4ed1d471",
            "addons/mail/models/mail_thread.py": "faca0d0b61d41bd438c8f70a1c5ce9f77372b7f0",
            "addons/mail/models/mail_thread_blacklist.py": "e0287a765219c95450aaa08a1d1d8607e59a4c2b",
            "addons/mail/models/mail_thread_main_attachment.py": "458a198fff993355b3a7f834c4dc3f2e3e4b3639",
            "addons/mail/models/res_company.py": "75a8a9f749baf29e7508cb2e915c2eb16b8abf67",
            "addons/mail/models/res_partner.py": "722d06464ffcab56f15b4e871be78b08a05d0969",
            "addons/mail/models/res_users.py": "7d699b1d0658cb7f498365b1c21fcd87e8800aaf",
            "addons/onboarding/__manifest__.py": "6f66806993e07be192885af3bdf77827fd7f71e8",
            "addons/onboarding/models/res_company.py": "cca976d3e9d3ce57c8c4a5bc787096072bd09996",
            "addons/payment/__manifest__.py": "2dd102598f6b6318f08e2c25aafbc16b4a55b45a",
            "addons/payment/models/payment_token.py": "557e85526f469ab525ed8fc372d7f05b2245e5e9",
            "addons/payment/models/payment_transaction.py": "770f3745ce4e30e0e65a12d4e0348f88e123b0af",
            "addons/payment/models/res_company.py": "833be0136116fffde86c60723c055ae56b82824c",
            "addons/payment/models/res_partner.py": "afb594a70d81d922e5d8ff9d0fec2509d14c4b54",
            "addons/portal/__manifest__.py": "ab007883e0247ef2e0c328e009bfd386b7284cac",
            "addons/portal/models/ir_ui_view.py": "f84d487e9387cd4b7399a315302e138c0ab044b3",
            "addons/portal/models/mail_thread.py": "e1150290768bd03fcdf946d5310d47463636557e",
            "addons/portal/models/portal_mixin.py": "9576b37d57e19d5b4b6d5b458b79622141870f1f",
            "addons/portal/models/res_partner.py": "cc01f1429d5e775554c817c410dc3e0174eb0fdb",
            "addons/product/__manifest__.py": "145110b9608d44e583fed9f86ae563304206c15a",
            "addons/product/models/ir_attachment.py": "e9a915d0ae23cc1a28a6795b0627e8f64d528bdc",
            "addons/product/models/product_catalog_mixin.py": "7735fa12f0c57777aa698ea7e86b0942d9cc1e95",
            "addons/product/models/product_category.py": "a0dd145b0c7e0ea8e70d31f421cd1181596c0d7a",
            "addons/product/models/product_packaging.py": "f17738b38df9b886fb150bcc5e3291fd0053196e",
            "addons/product/models/product_pricelist.py": "1a99c2872c0c63d0fb4bc9733c737fe809bd76ff",
            "addons/product/models/product_product.py": "f7677b140e87b8e93e7dbb60361709445485a66f",
            "addons/product/models/product_template.py": "07705daf99f916ba4126bb17427a8760305e4e50",
            "addons/product/models/res_company.py": "8061d3c2ff5a7a163f875dc93201468a8947a89c",
            "addons/product/models/res_currency.py": "584ad931b32c78bb1655a7fcfd5b89f2d7e84cab",
            "addons/product/models/res_partner.py": "c525b3b9e0da49edef65ec4f8b504514211a5419",
            "addons/product/models/uom_uom.py": "63b7072346f80849e66e63292c5a173e6a82d5a4",
            "addons/resource/__manifest__.py": "9b8f952ca009f162fd39ffd78eb42fd960e8a5e9",
            "addons/resource/models/res_company.py": "3ba30d249a114b80374e146590bc864fd17aa123",
            "addons/resource/models/res_users.py": "ef4f885919e56161ce218abccbf95e3f69972b0b",
            "addons/resource/models/resource_calendar.py": "2c694633400e132e052bd97858106beecc6d69f9",
            "addons/sale/__manifest__.py": "5958231a843d358ef198321d0e70b9ca5a172e9a",
            "addons/sale/models/__init__.py": "f5523d79892dcab81eb4e041e54b48edde4ba4c2",
            "addons/sale/models/account_move.py": "c9dbc2e461161523e7e6601a399d2a4604b1d165",
            "addons/sale/models/account_move_line.py": "b4fc1161f9d6ff2fb34ddb4e37cab513f117fce1",
            "addons/sale/models/crm_team.py": "aad2569f47af161b2eab1831ccf991abc5adf968",
            "addons/sale/models/payment_transaction.py": "9c6ea869eaa487b6640c1534601c31b4a0287d37",
            "addons/sale/models/product_product.py": "afcb9a57a14229777ab692d07231b00d5d884a79",
            "addons/sale/models/product_template.py": "36777e44fd8c3d07f763a87ed10077aff97ec72c",
            "addons/sale/models/res_company.py": "bc653f43a60a2b9c8014720a02271cb24f41593a",
            "addons/sale/models/res_partner.py": "dcd9bedf03c1137aaf13001dbfdbce20bf9a8689",
            "addons/sale/models/sale_order.py": "d4832aca3db1943793d4061a0e98bb4d6003cfac",
            "addons/sale/models/sale_order_line.py": "e88eb8c109cbb312a7f02b406d072f99b4f0a4cd",
            "addons/sale/models/utm_campaign.py": "33af74d87e7e6ee20d86182e756581ac41f1046e",
            "addons/sales_team/__manifest__.py": "ff3d8fbbe01301fd9cc880788fdb10943a0445fd",
            "addons/sales_team/models/crm_team.py": "abe395a48af7942cf8be5e37a113a4e66913d7c3",
            "addons/sales_team/models/res_partner.py": "d651f89d8ac123468a9a1bb8cfea74f631033d87",
            "addons/sales_team/models/res_users.py": "f89a744efbf7d77cd6542a90d9538818fb3642bd",
            "addons/uom/__manifest__.py": "2bf2316e0cb86ec50abe53d93976f68de35c7e8c",
            "addons/uom/models/uom_uom.py": "c4762e81d570071e9367c7ece98593dfa1a5a444",
            "addons/utm/__manifest__.py": "bd3b82a113c1c6f2e086a9599c60220c91f6b72e",
            "addons/utm/models/utm_campaign.py": "de90e57a9703a7717feac8a4a2080468833db91f",
            "addons/utm/models/utm_medium.py": "b8df7745778d716c79e9b19f9bcbbb1d63f69eda",
            "addons/utm/models/utm_mixin.py": "1c9163f85c59af5cf9b2bcd3459bfcc20c67984b",
            "addons/utm/models/utm_source.py": "fb232383b8d641d86c58eed63ebe12bfb30d7246",
            "addons/web/__manifest__.py": "df2846fafce8a39c99c7510caa9d95ce29bd6c9c",
            "addons/web/models/ir_model.py": "44ce0e9c07495e1cb2a99a27b845b3aec04b11c2",
            "addons/web/models/models.py": "66612b49c0338a84d04d34d741a2993d1630f8a2",
            "addons/web/models/res_partner.py": "8a1985cbb6d0ca14c44a2ea6813c393056482b3a",
            "addons/web/models/res_users.py": "09e7900c76a41bd32a89bddab68bc36fb8f6c236",
            "addons/web_editor/__manifest__.py": "39b405c1113bdc52293ce0356ed6f0c305af7132",
            "addons/web_editor/models/ir_attachment.py": "4d8f3cd350e6d56ab2536880ba8b7346c10643a9",
            "addons/web_editor/models/ir_ui_view.py": "d074c25305f2ddcdcb2dd7e740c3c6fb41f49d33",
            "addons/web_tour/__manifest__.py": "71ad0884b8a9b9891bfd1fc0136c8df298c6878e",
            "odoo/addons/base/__manifest__.py": "66ccda83ef44526bc9ffe892fe90dc27245dc9fd",
            "odoo/addons/base/models/avatar_mixin.py": "bc3ca6bb48ce670ff0ce9e3170bc78cb415faf07",
            "odoo/addons/base/models/image_mixin.py": "614a70f497fe7746a66d7a07620193e2fff9eb24",
            "odoo/addons/base/models/ir_attachment.py": "1f26718f74dfc1d67fd003ef34e39730a3a24224",
            "odoo/addons/base/models/ir_default.py": "771b8f8f85de07c646f0529da1060da80522d318",
            "odoo/addons/base/models/ir_model.py": "e12ef594159f360caf011fc651e8906784fbf98f",
            "odoo/addons/base/models/ir_module.py": "f03aeabacad860ee68a2fa311860119b62f18cb5",
            "addons/account/models/ir_module.py": "efae5f7d1896d0d560489bb2028ec5b30442c379",
            "odoo/addons/base/models/ir_property.py": "9f547f08e00e42ccbc0f150b4246cf9b339cb9ad",
            "odoo/addons/base/models/ir_sequence.py": "7f61d689057fd10ecd5b623a61fc6fe2028bf6bf",
            "odoo/addons/base/models/ir_ui_view.py": "f4ff6238679027eb0edd108a70916fa420f8a31a",
            "odoo/addons/base/models/report_paperformat.py": "01dfaabd46312ff97d711a5e04dc046e04481173",
            "odoo/addons/base/models/res_bank.py": "fb10d719c927889d515fbacf9327cbaec89961ba",
            "odoo/addons/base/models/res_company.py": "a94aa005b57427ae7231bf1860941979d3018c23",
            "odoo/addons/base/models/res_country.py": "b6d6e951d4be572dc84700228a0b032d96acf170",
            "odoo/addons/base/models/res_currency.py": "691b229f19966951cb14149150a00ed31d163456",
            "odoo/addons/base/models/res_partner.py": "40b84068bca835d49a31183a54893f7053f5c768",
            "odoo/addons/base/models/res_users.py": "a8b1abe4e4823881471b819e6aad4d32bb15c130",
            "odoo/fields.py": "1b23f70d724993b807d8d46c89a6daf6c5578208",
            "odoo/models.py": "ccac48e015873d2853a484e363bddc84d360df5b",
            "odoo/modules/registry.py": "697d73e830a335a0544871271277332df6f7bf06",
            "odoo/release.py": "ccba077d91b2ff7abc528ab37fa5c56d1444ffef",
            "odoo/tools/sql.py": "59a78faee4abf8c3f63dd2fefd4dd56f5987ecd1",
        },
    },
    18: {
        "repository": "sajjatdev/odoo-docker",
        "commit": "1e963891a9a2f74fd846fbd1bf9416828912b270",
        "files": {
            "addons/account/__manifest__.py": "87b25469709ffbafb91d75a56d5c307c617cc4b5",
            "addons/account/models/__init__.py": "7f25cc3139b901f0814279e7fcf85234e2ab968b",
            "addons/account/models/account_account.py": "62211d44c498295a7879bfb69cd2c77ae72922e0",
            "addons/account/models/account_bank_statement.py": "cf1be9911322e1847c61bae6fd8b0a2580bcb158",
            "addons/account/models/account_bank_statement_line.py": "dacb8e2afb203c536a48d742a59e905a8607dad8",
            "addons/account/models/account_cash_rounding.py": "c3abce53a89e95561d5bcea2d8e56bdaffdb8acc",
            "addons/account/models/account_full_reconcile.py": "519a7c0e78b9e37e0b230731e379e81fb7776493",
            "addons/account/models/account_incoterms.py": "63dc8ba7534291070602059ff40da87d81d0b6e1",
            "addons/account/models/account_journal.py": "fac607550699b3e28041ed028ed65c41079485a5",
            "addons/account/models/account_journal_dashboard.py": "5674a82d89d65b724b54208030d0db21213491fc",
            "addons/account/models/account_move.py": "3ff0258302aa154d650bb1059550525a03fb215d",
            "addons/account/models/account_move_line.py": "34c6ec7d93108947ca4ca79d6b4a9faeb1cafb40",
            "addons/account/models/account_move_line_tax_details.py": "40849a29ddae97706f7e6dca0417586dea035d55",
            "addons/account/models/account_partial_reconcile.py": "3ae82691de740169332d74b6761fe093afb93e20",
            "addons/account/models/account_payment.py": "39793ff1c98211a9abf3fb5240802830876da410",
            "addons/account/models/account_payment_method.py": "1350ec2f2ed35424a9043cf9d259b51396dbed7f",
            "addons/account/models/account_payment_term.py": "84c60add7a2088dd44566bd30d2bd8253a81a2ce",
            "addons/account/models/account_reconcile_model.py": "adc3a6ccc1bf3eec9cea533cd152d4bae0ea0c38",
            "addons/account/models/account_tax.py": "4129520daef7043c43d9a3182920a2c3f65195c8",
            "addons/account/models/company.py": "fde7730bf43851af11695a628b3ae75a4965ac9b",
            "addons/account/models/ir_actions_report.py": "2cd378c4b5483bc9d643dc0af2c9ba47829f75fa",
            "addons/account/models/ir_attachment.py": "a2620d098a2e2512010413ca45b4c4c3840f5360",
            "addons/account/models/partner.py": "4e1a14cce9316b4a23feda5cafd9ff7bb5306bfe",
            "addons/account/models/product.py": "90d4638a2d7304815ee0f8caf4246f2004723672",
            "addons/account/models/res_currency.py": "ee643e59199c4464e2b8987253673db1b9942a51",
            "addons/account/models/res_partner_bank.py": "993aa9309b1dbf8f41a3cff4cd48daea7af4b8f7",
            "addons/account/models/sequence_mixin.py": "8951b5cd54aa34737a01fe96c411484da55f31de",
            "addons/account/models/uom_uom.py": "4c4d992e67f9aea3a61fb4c9c84943faf341d13c",
            "addons/account_payment/__manifest__.py": "adb25da1fed7a467f3aee3f8520b2a77192e214c",
            "addons/account_payment/models/account_journal.py": "2654e41885351cdd8239641f878ad4570c761632",
            "addons/account_payment/models/account_move.py": "b6f3c09eff779f1f3fcc28275fb3f2946f155860",
            "addons/account_payment/models/account_payment.py": "c213f78dbde3ce3648f02f727713ee1c5c24e01b",
            "addons/account_payment/models/account_payment_method.py": "430342fcb952e712781087d4a49ea0df96f27e70",
            "addons/account_payment/models/account_payment_method_line.py": "433796ae4c601fcc1daa4fde48702f96e3396bae",
            "addons/account_payment/models/payment_transaction.py": "ca3debf998f6182366a701f495d51ee21997f0b9",
            "addons/analytic/__manifest__.py": "c1e78eb3e429291bc7ed536aa8eace816877df96",
            "addons/analytic/models/analytic_mixin.py": "8875a993bfb7f5294f7244254da3512a483c4d7f",
            "addons/auth_signup/__manifest__.py": "a82fb668b5111f5bec02e520fbfe35b3e122de35",
            "addons/auth_signup/models/res_partner.py": "dcd35065acbfc166e5664899fcfe24aba6dbbc7f",
            "addons/auth_signup/models/res_users.py": "bb4f68217d86e112b10e32f3822be436fd285366",
            "addons/base_setup/__manifest__.py": "4a6d543bd196a20287ba231358f2a92025103b25",
            "addons/base_setup/models/res_users.py": "b3caf7213ccabc0a6b745ce66d249bdffa6f5a8e",
            "addons/bus/__manifest__.py": "432e9873ff6222b00a67284e298908e34349dc22",
            "addons/bus/models/bus_listener_mixin.py": "fe3ae35091d1a480d2b8918ce797c413f3bb5d43",
            "addons/bus/models/ir_attachment.py": "f299ed9dae33047fe16acfc876255913e9ab15c7",
            "addons/bus/models/ir_model.py": "5a064877c0058ed77bef51ab5283166a7e1e1042",
            "addons/bus/models/res_partner.py": "9fc03a8859c663fea54e1de111100c306eb8e300",
            "addons/bus/models/res_users.py": "efe27c2fb1d2c5a2ca820e0e8d91819b436f468b",
            "addons/digest/__manifest__.py": "54cdb4e68f4b84f6ad6a5e290624719bf33ae1c6",
            "addons/digest/models/res_users.py": "ff08861fcbb792d19c7ba4215339c9c552e8c6fa",
            "addons/html_editor/__manifest__.py": "5f80e985be19b215c420aa972eb013579820521b",
            "addons/html_editor/models/ir_attachment.py": "c98a08b365deee39016b851aca570d922977c283",
            "addons/http_routing/__manifest__.py": "a90bac32a05b578d8e57da87a61d012a130fd6ed",
            "addons/mail/__manifest__.py": "42f5d23d6d8b87a76b35baab0226194b1c71e974",
            "addons/mail/models/bus_listener_mixin.py": "51ae27fd2c1b2dcff10d661ba09841203924fa0f",
            "addons/mail/models/discuss/bus_listener_mixin.py": "6c5cefea3441e14a36d3824e03940373c51f9335",
            "addons/mail/models/discuss/ir_attachment.py": "060b2f498c83a62238725a9e220c17db0c410b84",
            "addons/mail/models/discuss/res_partner.py": "973b8c9c3e860e166e85fc9a6029169c5b26cda4",
            "addons/mail/models/discuss/res_users.py": "3f2015e2368d649948cdc98864c0605f7b5fd455",
            "addons/mail/models/ir_attachment.py": "df38e866fb56b4bc0080f5b64de56d2fd2e123d1",
            "addons/mail/models/ir_model.py": "ceb976add898e9d47a7aa5bbec6e0b4fdf5f6dba",
            "addons/mail/models/ir_model_fields.py": "cb4626824557935c78a1369a58e314ee89f41450",
            "addons/mail/models/ir_ui_view.py": "80afc3d31ed47a5b9f59fe7e45d6494188771699",
            "addons/mail/models/mail_activity_mixin.py": "f75a87bce3b5a383ba0e9bade5f6acfa3d4cead6",
            "addons/mail/models/mail_alias.py": "6d1c666b3ddb0284545df226fe5ccf749d3e922f",
            "addons/mail/models/mail_alias_domain.py": "e578f6ee413bb806a2bc109806070fdbe5a27806",
            "addons/mail/models/mail_alias_mixin_optional.py": "f169ddba4f724ce8be9e710b1237c4a47e60e63d",
            "addons/mail/models/mail_thread.py": "bb66a3252528d930987b17d733dd71a70fda3d8d",
            "addons/mail/models/mail_thread_blacklist.py": "89dda2ae9bcf2df0fde22d7c04d3f3f4be74f787",
            "addons/mail/models/mail_thread_main_attachment.py": "f82d0b5ee72770fa6bcb0b06bd0a22a6a2b7b6d6",
            "addons/mail/models/res_company.py": "33e0fc5c96dc504c3116a2766924ca28a9722231",
            "addons/mail/models/res_partner.py": "26736883b5fb7c228ad6052d70d1c25889924ba8",
            "addons/mail/models/res_users.py": "284ec35e8237b24676d979daf4604e4cbe262647",
            "addons/onboarding/__manifest__.py": "ce3e36bdd10ca8dda5b1cfeafa5ff480918be331",
            "addons/payment/__manifest__.py": "ed8cab2a4c0a240a92af13be2acee720f355a849",
            "addons/payment/models/payment_token.py": "a2df9b548ff8cfeb2e1818f8e3f889fe1b94c84d",
            "addons/payment/models/payment_transaction.py": "90cced21c384e0b2f9393384ffaded769b327069",
            "addons/payment/models/res_company.py": "98c689eaf43ff566eae6ec3a1860b335a47c1621",
            "addons/payment/models/res_country.py": "7f366f97bdf89e8d2cedef756f95d1d1730e7589",
            "addons/payment/models/res_partner.py": "49e3d7881300ef34f09d3bf5ad372219d021645c",
            "addons/portal/__manifest__.py": "5c9b98a2ef8d519ded27967a8b98be68250964fc",
            "addons/portal/models/ir_ui_view.py": "b8bce92434b779e08080bac07a65e4bbde83ac5b",
            "addons/portal/models/mail_thread.py": "463c2ca34c93571e35d6c67264bd9170657270e6",
            "addons/portal/models/portal_mixin.py": "c7d16284952972151d3a9d3ce2c5f0e3cbf167e0",
            "addons/portal/models/res_partner.py": "ede6adb6e5d84ffbbafc4f6992e5d3fbe2254603",
            "addons/product/__manifest__.py": "5386d53b01252fe6924116ea68b18e2a59c5aa01",
            "addons/product/models/ir_attachment.py": "430849e0b115a3687967a14ef6ed6b65b645ac46",
            "addons/product/models/product_catalog_mixin.py": "11ff92fc4a8ef01efb023f873802a8ee10151ac5",
            "addons/product/models/product_category.py": "efc05d8e45111cb84d9b01e9bc0da83c3f99c370",
            "addons/product/models/product_combo_item.py": "3830c725556aa412d2bcf4608182386f474b64de",
            "addons/product/models/product_packaging.py": "ccae2a568331c2b1c97326e7c84731e8d7ebfda6",
            "addons/product/models/product_pricelist.py": "665d9a63b817835a49f285ba0e966810128e7887",
            "addons/product/models/product_product.py": "21946ddac2301dc00b58aa44c27255988a44dde4",
            "addons/product/models/product_template.py": "db479d726549ed30c7f4c53d78a8954dc0f48f4c",
            "addons/product/models/res_company.py": "6c44743132ac27e5a82fee0ea9867455a8d209c4",
            "addons/product/models/res_currency.py": "f2f2ca9d40e6b0fdc33fd8077321e09b0efa8091",
            "addons/product/models/res_partner.py": "b8a3d5e243431a01a3168daed93dcf5f3c156dcd",
            "addons/product/models/uom_uom.py": "32ae589856293eaf9209d3c3f6dafaf98053728d",
            "addons/resource/__manifest__.py": "be393f766177224c91411b41f903b89b450a7777",
            "addons/resource/models/res_company.py": "e740a690f20ea35da487952b95da7201b4c3b03e",
            "addons/resource/models/res_users.py": "858ed1fc5d80eec7442170ee6fec9bd68c0faa08",
            "addons/resource/models/resource_calendar.py": "8110975e2ae92053e2567980191022f0e46f1e45",
            "addons/sale/__manifest__.py": "489d75e14b2d8a78a4bcb1968a97024e597e11e9",
            "addons/sale/models/__init__.py": "02522b57ba895e85d5b0e897acfe5619b1755f20",
            "addons/sale/models/account_move.py": "9be3bd0515b33ac84b2db4802ca24dfde2a0b5ca",
            "addons/sale/models/account_move_line.py": "51bd3a024a8d43c128dc9eb0d413c60bb5637ffc",
            "addons/sale/models/crm_team.py": "23f5392b7c3864169f5a0c0cc34b99d7db7c162a",
            "addons/sale/models/payment_transaction.py": "61bbd460c04d61331ca5c9126b83a1c6f4956cab",
            "addons/sale/models/product_category.py": "1fa32f9239a8fd901b2241167a629dc791f2e048",
            "addons/sale/models/product_product.py": "4a057a7483e6da59f5327668e60515e983ee6105",
            "addons/sale/models/product_template.py": "ac2041a3334a8fde2f038a08c3c71a6441ea1480",
            "addons/sale/models/res_company.py": "78fa797164b997d56ab541da4d2f93968033765d",
            "addons/sale/models/res_partner.py": "ffdca65e2a7b985bdbac6753a85f4bb0f08a0cee",
            "addons/sale/models/sale_order.py": "db256d3b94794ece6e5e7a86cd2222c802d01ec9",
            "addons/sale/models/sale_order_line.py": "afdaa92a2bade24f9a0d24b2480ae33c652732a9",
            "addons/sale/models/utm_campaign.py": "e975622439b276c86cab8dff0f70ddcdac13bcb8",
            "addons/sales_team/__manifest__.py": "21e1c14c80838fbfc0d713c727720749617023d0",
            "addons/sales_team/models/crm_team.py": "b1f3d68000490a0991749b6f90d08e2253c02aba",
            "addons/sales_team/models/res_users.py": "12fc09cb098f471288b9aa4d92cb607978f3dfd0",
            "addons/uom/__manifest__.py": "324a2a7843173f74985cf6f08d48b3837ad368e5",
            "addons/uom/models/uom_uom.py": "b3a58f2dba2fd92284515ef001bc74da767b9a06",
            "addons/utm/__manifest__.py": "17fc40f54875fcd23c84b8b5315ca006959e0fb3",
            "addons/utm/models/utm_campaign.py": "c0bc5677b577baaeb25accf6e20ad1ffd863a37a",
            "addons/utm/models/utm_medium.py": "132502782797b52419ee999b52fd398ecd3e1e0f",
            "addons/utm/models/utm_mixin.py": "c898ba484c765e20f35fadcea898bcebbff089e0",
            "addons/utm/models/utm_source.py": "37c7b287ff7c1bfbb602f455d15424a11e245d5f",
            "addons/web/__manifest__.py": "f60e7e4df2a3232940bc8562655f5107d8e8d6a9",
            "addons/web/models/ir_model.py": "3fda156c2c0faf016980acdd20c1d1de5554c3b7",
            "addons/web/models/ir_ui_view.py": "24aa2b07533c2adc1c6ebe5500acf7cbf05cf988",
            "addons/web/models/models.py": "a52146872df9debebd33d363f98e37a302987832",
            "addons/web/models/res_partner.py": "471e6852002c821eb47a9549007fda977a826b73",
            "addons/web/models/res_users.py": "acd6c666d0936bd8af3fade34506a1bf82a368ec",
            "addons/web_editor/__manifest__.py": "4d92487c092410aeaee6d9440b32b50175c71304",
            "addons/web_editor/models/ir_ui_view.py": "9a8975c4b5e0f7c9ee7eae3890f34dacb1213f11",
            "addons/web_tour/__manifest__.py": "57ced2dee5fd4462a01f953f738293bd43d68fe7",
            "addons/web_tour/models/res_users.py": "498dd64a1403124fd6dbe8207348d3e5644fe283",
            "odoo/addons/base/__manifest__.py": "ef9bdde2a8aeb09b27cb7ffa4103ef8f2d302013",
            "odoo/addons/base/models/avatar_mixin.py": "12876b42081126ba9f31f6e837f696e4d8979a65",
            "odoo/addons/base/models/image_mixin.py": "93f1a1592eaaec8b1e7121d645ec1afd263e67e4",
            "odoo/addons/base/models/ir_actions.py": "710c5819830f13aa4dd35be1f48e6c2dce72537a",
            "odoo/addons/base/models/ir_actions_report.py": "f92691a3860cdaa333c1bab9878982003c703df9",
            "odoo/addons/base/models/ir_attachment.py": "a5f7b7291ea8235928fac039e3bc93376a5e71e1",
            "odoo/addons/base/models/ir_default.py": "96c903752d2bda6c80951f8b7fad70d5ebea23f5",
            "odoo/addons/base/models/ir_model.py": "82d0ccc780af4e95941bd7f0844f2cd04c513b23",
            "odoo/addons/base/models/ir_module.py": "b525b1bfa0ca161bc66d50027e53f2338363342f",
            "addons/account/models/ir_module.py": "cad67958afb2f01ba977c28bc2235d6ff63dfd3b",
            "odoo/addons/base/models/ir_sequence.py": "3b7b0b205358d4dcfae4bf68db3e15a69d56a884",
            "odoo/addons/base/models/ir_ui_view.py": "6e1e6e609d00f468b41a311f2edebad50fdd2609",
            "odoo/addons/base/models/report_paperformat.py": "aef65a9e852f7f975ff4272779f54d511ec49db9",
            "odoo/addons/base/models/res_bank.py": "4b38e7fa0a2cb39f085c790b92c8601659a16752",
            "odoo/addons/base/models/res_company.py": "b79634445747fbfcb1972be1c7aef0f76886a4da",
            "odoo/addons/base/models/res_country.py": "19d7152b36f47231d93d7a0cdbd658a5dad28d1f",
            "odoo/addons/base/models/res_currency.py": "de0c63a23b910a5c61ec2c6840aac99a35ab5d87",
            "odoo/addons/base/models/res_partner.py": "06df9d9053d6fbf440e7b23703e6c43356c25493",
            "odoo/addons/base/models/res_users.py": "460972542791e67205b86639bfe8856ce93237b6",
            "odoo/fields.py": "baf61c9a865c037e45364773cad6ad662971b201",
            "odoo/models.py": "ef6f2b2862d135f77ec9383954d09b88cbd63cd9",
            "odoo/modules/registry.py": "e683178ee568fa4a6b63191ec5cd3fa532975b09",
            "odoo/release.py": "73c2f410715798d4311815d9c0d5d2a1354b4afd",
            "odoo/tools/sql.py": "4f91cb83f58153be535185701d0b82fe066638da",
        },
    },
}


# --------------------------------------------------------------------------- reading the sources


class Source:
    """Files of one Odoo tree: a git repository at ``commit`` or a plain folder of pinned files."""

    def __init__(self, root: Path, version: int, commit: str | None, repository: str | None,
                 pinned: bool = True) -> None:
        self.root = root
        self.version = version
        pin = PINNED.get(version, {})
        self.pins: dict[str, str] = pin.get("files", {}) if pinned else {}
        if pinned and not self.pins:
            raise GenerationError(f"no pinned files for Odoo {version}: run with --unpinned and review")
        self.repository = repository or pin.get("repository", "")
        self.read_files: dict[str, dict[str, str]] = {}
        self.git = _is_git(root)
        if self.git:
            self.commit = self._git("rev-parse", "--verify", f"{commit or 'HEAD'}^{{commit}}").decode().strip()
            listing = self._git("ls-tree", "-r", "--name-only", self.commit, "--", "odoo", "addons")
            self.files = set(listing.decode().splitlines())
        else:
            self.commit = commit or pin.get("commit", "")
            if not re.fullmatch(r"[0-9a-f]{40}", self.commit):
                raise GenerationError(f"{root} is not a git repository: give --commit (the 40-digit commit its "
                                      "files are copies of)")
            self.files = {str(p.relative_to(root)) for top in ("odoo", "addons") for p in (root / top).rglob("*")
                          if p.is_file()}
            if pinned:
                missing = sorted(set(self.pins) - self.files)
                if missing:
                    raise GenerationError(f"{root} lacks pinned files: {', '.join(missing[:5])}"
                                          f"{' …' if len(missing) > 5 else ''}")

    def _git(self, *args: str) -> bytes:
        done = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, check=False)
        if done.returncode != 0:
            raise GenerationError(f"git {' '.join(args)} in {self.root}: {done.stderr.decode().strip()}")
        return done.stdout

    def raw(self, path: str) -> bytes:
        return self._git("show", f"{self.commit}:{path}") if self.git else (self.root / path).read_bytes()

    def read(self, path: str, purpose: str, data: bytes | None = None) -> str:
        """Read ``path`` and record it (refused if its blob is not the pinned one)."""
        data = self.raw(path) if data is None else data
        blob = blob_id(data)
        if self.pins and self.pins.get(path) != blob:
            want = self.pins.get(path)
            raise GenerationError(f"{path} in {self.root}@{self.commit[:12]} is blob {blob[:12]}, "
                                  f"{'not the pinned ' + want[:12] if want else 'not pinned'} for Odoo "
                                  f"{self.version}: review it, then update PINNED")
        if path in self.read_files:
            if purpose not in self.read_files[path]["read_for"]:
                self.read_files[path]["read_for"] += f"; {purpose}"
        else:
            self.read_files[path] = {"path": path, "blob": blob, "read_for": purpose}
        return data.decode("utf-8")


def _is_git(root: Path) -> bool:
    """``root`` itself is a git repository (its git dir or its work tree, not a folder inside one)."""
    def ask(*args: str) -> str | None:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", *args], capture_output=True, check=False)
        return done.stdout.decode().strip() if done.returncode == 0 else None

    here = root.resolve()
    if ask("--is-bare-repository") == "true":
        return Path(ask("--absolute-git-dir") or "/").resolve() == here
    return Path(ask("--show-toplevel") or "/").resolve() == here


# --------------------------------------------------------------------------- Odoo's version and rules


def release_version(src: Source) -> str:
    """``version_info`` of odoo/release.py, as text, refused unless ``(<version>, 0, …)``."""
    tree = ast.parse(src.read(RULE_FILES["release"], "version evidence (version_info)"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "version_info"
                                                for t in node.targets):
            elts = node.value.elts if isinstance(node.value, ast.Tuple) else []
            head = [e.value for e in elts[:3] if isinstance(e, ast.Constant)]
            if head[:2] != [src.version, 0]:
                raise GenerationError(f"odoo/release.py at {src.commit[:12]} says version_info {head}: "
                                      f"not Odoo {src.version}.0")
            return ast.unparse(node.value)
    raise GenerationError("no version_info in odoo/release.py")


def check_rules(src: Source) -> None:
    """Read Odoo's table-creation rules and check the facts this generator relies on are there."""
    texts = {key: src.read(path, "ORM table-creation rules") for key, path in RULE_FILES.items() if key != "release"}
    fields_py, models_py, registry_py, sql_py = texts["fields"], texts["models"], texts["registry"], texts["sql"]
    expect = [
        (fields_py, "attachment = True", "Binary attachment by default"),
        (fields_py, "('numeric', 'numeric') if self._digits is not None", "Float column type"),
        (fields_py, "('jsonb', 'jsonb')", "jsonb columns"),
        (fields_py, "'restrict' if self.required else 'set null'", "Many2one ondelete default"),
        (models_py, "LOG_ACCESS_COLUMNS = ['create_uid', 'create_date', 'write_uid', 'write_date']",
         "magic columns"),
        (registry_py, "'btree_not_null'", "index kinds"),
        (registry_py, "gin_trgm_ops", "trigram index"),
        (sql_py, 'f"{table_name}__{column_name}_index"', "index names"),
        (sql_py, "id SERIAL NOT NULL", "id column"),
    ]
    if src.version == 17:
        expect.append((fields_py, "attrs['store'] = False", "company_dependent not stored (17)"))
    else:
        expect.append((fields_py, "('jsonb', 'jsonb') if self.company_dependent or self.translate",
                       "company_dependent / translate jsonb (18)"))
        expect.append((fields_py, "attrs['index'] = attrs.get('index', 'btree_not_null')",
                       "company_dependent index (18)"))
    for needle, what in (
        ("self.relation = '%s_%s_rel' % tuple(tables)", "Many2many default relation table"),
        ("self.column1 = '%s_id' % model._table", "Many2many default column1"),
        ("self.column2 = '%s_id' % comodel._table", "Many2many default column2"),
        ("ondelete = 'cascade'", "Many2many ondelete default"),
        ("Only 'restrict' and 'cascade' make sense.", "Many2many ondelete values"),
        ("%(id1)s INTEGER NOT NULL", "Many2many column1 NOT NULL"),
        ("%(id2)s INTEGER NOT NULL", "Many2many column2 NOT NULL"),
        ("PRIMARY KEY(%(id1)s, %(id2)s)", "Many2many primary key"),
        ("CREATE INDEX ON %(rel)s (%(id2)s, %(id1)s)", "Many2many index"),
        ('comment=f"RELATION BETWEEN {model._table} AND {comodel._table}"', "Many2many table comment"),
        ("self.relation, self.column1, model._table, 'id', 'cascade',\n                model, self._module, force=False",
         "Many2many column1 foreign key"),
        ("self.relation, self.column2, comodel._table, 'id', self.ondelete,", "Many2many column2 foreign key"),
    ):
        expect.append((fields_py, needle, what))
    expect.append((registry_py, "self._foreign_keys.setdefault(key, val)", "foreign keys added without force"))
    for text, needle, what in expect:
        if needle not in text:
            raise GenerationError(f"Odoo {src.version}'s sources no longer show the rule for {what} "
                                  f"({needle!r}): review the generator")


# --------------------------------------------------------------------------- modules


def module_dir(name: str) -> str:
    return "odoo/addons/base" if name == "base" else f"addons/{name}"


def module_order(src: Source, root: str = ROOT_MODULE) -> list[str]:
    """The dependency closure of ``root``, dependencies first (Odoo loads by depth, then by name)."""
    depends: dict[str, list[str]] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in depends:
            continue
        path = f"{module_dir(name)}/__manifest__.py"
        if path not in src.files:
            raise GenerationError(f"module {name}: no {path}")
        manifest = ast.literal_eval(src.read(path, f"module {name}: dependencies"))
        depends[name] = list(manifest.get("depends", [])) or ([] if name == "base" else ["base"])
        todo.extend(depends[name])
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            depth[name] = 1 + max((level(d) for d in depends[name]), default=-1)
        return depth[name]

    return sorted(depends, key=lambda n: (level(n), n))


# --------------------------------------------------------------------------- model classes


@dataclass(eq=False)
class FieldDef:
    cls: str
    kwargs: dict[str, Any]
    module: str
    path: str
    line: int
    model: str = ""


@dataclass
class ModelClass:
    model: str
    parents: list[str]
    module: str
    path: str
    line: int
    defines: bool
    base: str  # Model / AbstractModel / TransientModel
    attrs: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, FieldDef] = field(default_factory=dict)


def _value(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return NOT_LITERAL


def _field_call(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            isinstance(node.func.value, ast.Name) and node.func.value.id == "fields" and \
            node.func.attr in FIELD_CLASSES:
        return node.func.attr
    return None


def model_classes(text: str, module: str, path: str) -> list[ModelClass]:
    """The Odoo model classes of one Python file (``_name`` / ``_inherit``), with their fields."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.ClassDef):
            continue
        base = next((b.attr for b in node.bases if isinstance(b, ast.Attribute)
                     and b.attr in ("Model", "AbstractModel", "TransientModel")), None)
        if base is None:
            continue
        attrs: dict[str, Any] = {}
        fields: dict[str, FieldDef] = {}
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                name = stmt.targets[0].id
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                name = stmt.target.id  # 18: ``name: Type = fields.X(...)``
            else:
                continue
            kind = _field_call(stmt.value)
            if kind:
                call = stmt.value
                kwargs = {k.arg: _value(k.value) for k in call.keywords if k.arg}
                for pname, arg in zip(POSITIONAL.get(kind, ("string",)), call.args, strict=False):
                    kwargs.setdefault(pname, _value(arg))
                fields[name] = FieldDef(kind, kwargs, module, path, stmt.lineno)
            elif name in ("_name", "_inherit", "_auto", "_log_access", "_table", "_sql_constraints", "_inherits",
                          "_abstract", "_transient"):
                attrs[name] = _value(stmt.value)
        name = attrs.get("_name")
        inherit = attrs.get("_inherit") or []
        inherit = [inherit] if isinstance(inherit, str) else list(inherit) if isinstance(inherit, list | tuple) else []
        if not isinstance(name, str) and not inherit:
            continue
        model = name if isinstance(name, str) else inherit[0]
        for definition in fields.values():
            definition.model = model
        if isinstance(name, str) and name not in inherit:
            found.append(ModelClass(name, inherit, module, path, node.lineno, True, base, attrs, fields))
        else:
            found.append(ModelClass(model, [p for p in inherit if p != model], module, path, node.lineno, False,
                                    base, attrs, fields))
    return found


def collect(src: Source, modules: list[str]) -> dict[str, list[ModelClass]]:
    """Every model class of the modules, per model, in loading order (within a module: the defining
    class first, then extensions by file path)."""
    by_model: dict[str, list[ModelClass]] = {}
    skip = re.compile(r"/(tests|migrations|upgrades|controllers|populate|static|data|demo)/")
    for module in modules:
        prefix = module_dir(module) + "/"
        paths = sorted(p for p in src.files if p.startswith(prefix) and p.endswith(".py") and not skip.search(p)
                       and (module != "base" or not p.startswith("odoo/addons/base/addons/")))
        here: list[ModelClass] = []
        for path in paths:
            data = src.raw(path) if src.git or not src.pins or path in src.pins else None
            if data is None:
                continue
            text = data.decode("utf-8")
            if "_inherit" not in text and "_name" not in text:
                continue
            here.extend(model_classes(text, module, path))
        # within a module, a model's defining class comes before its extensions (import order aside)
        for cls in sorted(here, key=lambda c: not c.defines):
            by_model.setdefault(cls.model, []).append(cls)
    return by_model


# --------------------------------------------------------------------------- one model -> one table


@dataclass
class Resolved:
    model: str
    table: str
    auto: bool
    log_access: bool
    classes: list[ModelClass]
    chains: dict[str, list[FieldDef]]
    constraints: dict[str, str]


class Registry:
    def __init__(self, src: Source, by_model: dict[str, list[ModelClass]]) -> None:
        self.src = src
        self.by_model = by_model
        self.cache: dict[str, Resolved] = {}
        self.used: set[tuple[str, str]] = set()  # (path, model) pairs that contributed

    def resolve(self, model: str) -> Resolved:
        if model in self.cache:
            return self.cache[model]
        classes = self.by_model.get(model)
        if not classes or not classes[0].defines:
            raise GenerationError(f"model {model} is not defined in the modules read")
        chains: dict[str, list[FieldDef]] = {}
        constraints: dict[str, str] = {}
        for cls in classes:
            self.used.add((cls.path, model))
            for parent in cls.parents:
                p = self.resolve(parent)
                for name, chain in p.chains.items():
                    mine = chains.setdefault(name, [])
                    mine.extend([d for d in chain if not any(d is e for e in mine)])
                constraints.update(p.constraints)
            for name, definition in cls.fields.items():
                chains.setdefault(name, []).append(definition)
            declared = cls.attrs.get("_sql_constraints", [])
            if declared == NOT_LITERAL:
                raise GenerationError(f"{cls.path}: _sql_constraints of {model} is not a literal")
            for cons in declared:
                constraints[cons[0]] = cons[1]
        first = classes[0]
        auto = first.attrs.get("_auto", first.base != "AbstractModel")
        log_access = first.attrs.get("_log_access", auto)
        table = first.attrs.get("_table") or model.replace(".", "_")
        resolved = Resolved(model, table, bool(auto), bool(log_access), classes, chains, constraints)
        self.cache[model] = resolved
        return resolved


def merged(chain: list[FieldDef]) -> tuple[str, dict[str, Any], FieldDef]:
    """The field's class and attributes after Odoo's merge of successive definitions."""
    kwargs: dict[str, Any] = {}
    cls = chain[0].cls
    origin = chain[0]
    for definition in chain:
        if definition.cls != cls:
            cls, kwargs, origin = definition.cls, {}, definition
        kwargs.update(definition.kwargs)
    return cls, kwargs, origin


def column_of(version: int, cls: str, kw: dict[str, Any]) -> tuple[str | None, str]:
    """(PostgreSQL type or None, why no column)."""
    if cls in ("One2many", "Many2many"):
        return None, cls.lower()
    store = kw.get("store", True)
    if kw.get("compute") or kw.get("related"):
        store = kw.get("store", False)
    if kw.get("company_dependent") and version == 17:
        return None, "company_dependent: values in ir_property"
    if store == NOT_LITERAL:
        raise GenerationError(f"store={NOT_LITERAL}")
    if not store:
        return None, "related, not stored" if kw.get("related") else "computed, not stored"
    if cls in ("Binary", "Image"):
        return (None, "binary in ir_attachment") if kw.get("attachment", True) else ("bytea", "")
    if (kw.get("company_dependent") and version == 18) or (kw.get("translate") and cls in ("Char", "Text", "Html")):
        return "jsonb", ""
    if version == 18 and kw.get("translate"):
        return "jsonb", ""
    if cls == "Float":
        return ("numeric" if kw.get("digits", None) is not None else "float8"), ""
    if cls == "Char":
        size = kw.get("size")
        return (f"varchar({size})" if isinstance(size, int) and size > 0 else "varchar"), ""
    if cls in ("Text", "Html"):
        return "text", ""
    if cls in SIMPLE_TYPES:
        return SIMPLE_TYPES[cls], ""
    raise GenerationError(f"no column type for fields.{cls}")


def related_comodel(reg: Registry, model: str, path: str) -> str | None:
    """The comodel of a related Many2one (``related='a.b'``): followed through the field chain."""
    for name in path.split("."):
        chain = reg.resolve(model).chains.get(name)
        if not chain:
            return None
        cls, kw, _ = merged(chain)
        target = kw.get("comodel_name")
        if target is None and isinstance(kw.get("related"), str):
            target = related_comodel(reg, model, kw["related"])
        if not isinstance(target, str):
            return None
        model = target
    return model


def make_identifier(identifier: str) -> str:
    """odoo.tools.sql.make_identifier: PostgreSQL's 63-character limit, with a crc32 suffix."""
    import zlib
    if len(identifier) > 63:
        return f"{identifier[:54]}_{zlib.crc32(identifier.encode()):08x}"
    return identifier


def table_of(reg: Registry, model: str) -> dict[str, Any]:
    version = reg.src.version
    r = reg.resolve(model)
    if not r.auto:
        raise GenerationError(f"model {model} has _auto = False: no table")
    columns: list[dict[str, Any]] = [{"name": "id", "type": "serial", "nullable": False, "primary_key": True,
                                      "field_type": "Id", "origin": {"model": model, "module": "base",
                                                                     "path": RULE_FILES["models"]}}]
    without: dict[str, str] = {}
    indexes: list[dict[str, Any]] = []
    chains = dict(r.chains)
    magic = {"create_uid": FieldDef("Many2one", {"comodel_name": "res.users"}, "base", RULE_FILES["models"], 0),
             "create_date": FieldDef("Datetime", {}, "base", RULE_FILES["models"], 0),
             "write_uid": FieldDef("Many2one", {"comodel_name": "res.users"}, "base", RULE_FILES["models"], 0),
             "write_date": FieldDef("Datetime", {}, "base", RULE_FILES["models"], 0)}
    if r.log_access:
        for name, definition in magic.items():
            if name not in chains:
                chains[name] = [definition]
    chains.pop("id", None)
    for name, chain in chains.items():
        cls, kw, origin = merged(chain)
        try:
            coltype, why = column_of(version, cls, kw)
        except GenerationError as exc:
            raise GenerationError(f"{model}.{name}: {exc}") from None
        if coltype is None:
            without[name] = f"{cls}: {why}"
            continue
        required = kw.get("required") is True and not (version == 18 and kw.get("company_dependent"))
        col: dict[str, Any] = {"name": name, "type": coltype, "nullable": not required, "field_type": cls}
        default = kw.get("default")
        if default is not None and default != NOT_LITERAL and not callable(default):
            col["orm_default"] = default
        if kw.get("company_dependent"):
            col["company_dependent"] = True
        if kw.get("translate"):
            col["translate"] = True
        if kw.get("compute"):
            col["computed_stored"] = True
        if kw.get("related"):
            col["related_stored"] = kw["related"] if isinstance(kw["related"], str) else True
        if cls == "Many2one" and not (version == 18 and kw.get("company_dependent")):
            comodel = kw.get("comodel_name")
            if comodel is None and isinstance(kw.get("related"), str):
                comodel = related_comodel(reg, model, kw["related"])
            if not isinstance(comodel, str):
                raise GenerationError(f"{model}.{name}: comodel not a literal")
            ondelete = kw.get("ondelete") or ("restrict" if required else "set null")
            try:
                target = reg.resolve(comodel).table
            except GenerationError:
                target = comodel.replace(".", "_")
            col["references"] = {"model": comodel, "table": target, "column": "id", "ondelete": ondelete}
        col["origin"] = {"model": origin.model or model, "module": origin.module, "path": origin.path,
                         "modules": sorted({d.module for d in chain})}
        columns.append(col)
        index = kw.get("index")
        if version == 18 and kw.get("company_dependent") and index is None:
            index = "btree_not_null"
        if index == NOT_LITERAL:
            raise GenerationError(f"{model}.{name}: index not a literal")
        if index and (index == "trigram" or not kw.get("translate")) and index is not False:
            expression = f'"{name}"'
            if index == "trigram":
                if kw.get("translate"):
                    expression = f"(jsonb_path_query_array({expression}, '$.*')::text)"
                indexes.append({"name": make_identifier(f"{r.table}__{name}_index"), "method": "gin",
                                "expressions": [f"{expression} gin_trgm_ops"], "where": "", "requires": "pg_trgm"})
            else:
                indexes.append({"name": make_identifier(f"{r.table}__{name}_index"), "method": "btree",
                                "expressions": [expression],
                                "where": f"{expression} IS NOT NULL" if index == "btree_not_null" else ""})
    constraints = [{"name": make_identifier(f"{r.table}_{key}"), "definition": definition,
                    **({} if definition else {"virtual": "no definition: Odoo expects an index of this name, "
                                                          "created by the model's init() (not reflected)"})}
                   for key, definition in sorted(r.constraints.items())]
    first = r.classes[0]
    return {
        "model": model,
        "module": first.module,
        "source": first.path,
        "extended_in": sorted({c.path for c in r.classes[1:]}),
        "columns": columns,
        "indexes": indexes,
        "constraints": constraints,
        "fields_without_column": dict(sorted(without.items())),
    }


def pg_object_name(name1: str, name2: str | None, label: str) -> str:
    """The name PostgreSQL chooses for an unnamed index or constraint (``makeObjectName``: the longer
    of ``name1`` / ``name2`` is cut until ``name1_name2_label`` fits in 63 characters)."""
    n1, n2 = len(name1), len(name2 or "")
    available = 63 - (len(label) + 1) - (1 if name2 else 0)
    while n1 + n2 > available:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    return "_".join([name1[:n1], *([name2[:n2]] if name2 else []), label])


def pg_index_name(table: str, columns: list[str]) -> str:
    """``CREATE INDEX ON table (columns)``: PostgreSQL names it ``<table>_<col>_<col>_idx``
    (``ChooseIndexName``; the column part stops growing past 63 characters)."""
    addition = ""
    for name in columns:
        addition = f"{addition}_{name}" if addition else name
        if len(addition) >= 64:
            break
    return pg_object_name(table, addition[:63], "idx")


@dataclass
class Relation:
    """One stored Many2many field whose relation table is generated."""
    model: str
    field: str
    comodel: str
    table: str
    column1: str
    column2: str
    ondelete: str
    origin: FieldDef
    modules: list[str]
    comment: str


def many2many_fields(reg: Registry, model: str, generated: set[str]) -> list[Relation]:
    """``model``'s stored Many2many fields whose comodel is a generated model, with the relation
    table and columns ``Many2many.setup_nonrelated`` gives them."""
    r = reg.resolve(model)
    found = []
    for name, chain in r.chains.items():
        cls, kw, origin = merged(chain)
        if cls != "Many2many":
            continue
        store = kw.get("store", True)
        if kw.get("compute") or kw.get("related"):
            store = kw.get("store", False)
        if store == NOT_LITERAL:
            raise GenerationError(f"{model}.{name}: store={NOT_LITERAL}")
        if not store:
            continue
        comodel = kw.get("comodel_name")
        if comodel is None and isinstance(kw.get("related"), str):
            comodel = related_comodel(reg, model, kw["related"])
        if not isinstance(comodel, str):
            raise GenerationError(f"{model}.{name}: comodel not a literal")
        if comodel not in generated:
            continue
        target = reg.resolve(comodel).table
        relation, column1, column2 = (kw.get(k) for k in ("relation", "column1", "column2"))
        if NOT_LITERAL in (relation, column1, column2):
            raise GenerationError(f"{model}.{name}: relation / column1 / column2 not literals")
        if not relation:
            tables = sorted([r.table, target])
            if tables[0] == tables[1]:
                raise GenerationError(f"{model}.{name}: implicit relation table of a model with itself")
            relation = f"{tables[0]}_{tables[1]}_rel"
        if len(relation) > 63:
            raise GenerationError(f"{model}.{name}: relation table name {relation!r} too long (check_pg_name)")
        ondelete = kw.get("ondelete") or "cascade"
        if ondelete not in ("cascade", "restrict"):
            raise GenerationError(f"{model}.{name}: Many2many ondelete {ondelete!r} (only cascade / restrict)")
        found.append(Relation(model, name, comodel, relation, column1 or f"{r.table}_id",
                              column2 or f"{target}_id", ondelete, origin, sorted({d.module for d in chain}),
                              f"RELATION BETWEEN {r.table} AND {target}"))
    return found


def import_rank(src: Source, module: str) -> dict[str, int]:
    """The order in which ``<module>/models/__init__.py`` imports its files (Odoo registers a
    module's model classes in that order)."""
    path = f"{module_dir(module)}/models/__init__.py"
    if path not in src.files:
        return {}
    ranks: dict[str, int] = {}
    for node in ast.parse(src.read(path, f"module {module}: order of its model files")).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module:
            for alias in node.names:
                ranks.setdefault(f"{module_dir(module)}/models/{alias.name}.py", len(ranks))
    return ranks


def load_order(src: Source, modules: list[str], definition: FieldDef) -> tuple[int, int, str, int]:
    """Where a field definition comes in Odoo's loading: its module, then its file's import rank."""
    ranks = import_rank(src, definition.module)
    return modules.index(definition.module), ranks.get(definition.path, len(ranks)), definition.path, definition.line


def relation_tables(reg: Registry, models: tuple[str, ...], modules: list[str]) -> dict[str, dict[str, Any]]:
    """The relation tables of the generated models' Many2many fields, as Odoo's ``update_db`` /
    ``update_db_foreign_keys`` create them. Fields sharing a table (the two sides of a relation)
    give one table: the first field to load creates it (its columns, in its order, and its index);
    each column's foreign key is the ``ondelete`` of the field whose ``column2`` it is (added with
    force), else ``cascade`` (a ``column1``, added only if not set)."""
    by_table: dict[str, list[Relation]] = {}
    for model in models:
        for rel in many2many_fields(reg, model, set(models)):
            by_table.setdefault(rel.table, []).append(rel)
    tables = {}
    for table, rels in sorted(by_table.items()):
        if len(rels) > 1:
            rels.sort(key=lambda rel: load_order(reg.src, modules, rel.origin))
        first = rels[0]
        pair = {first.column1, first.column2}
        for rel in rels[1:]:
            if {rel.column1, rel.column2} != pair or len(pair) != 2:
                raise GenerationError(f"relation table {table}: {first.model}.{first.field} and "
                                      f"{rel.model}.{rel.field} use other columns")
        refs = {}
        for column in (first.column1, first.column2):
            as_column2 = [rel for rel in rels if rel.column2 == column]
            as_column1 = [rel for rel in rels if rel.column1 == column]
            rel = as_column2[-1] if as_column2 else as_column1[0]
            model = rel.comodel if as_column2 else rel.model
            refs[column] = {"model": model, "table": reg.resolve(model).table, "column": "id",
                            "ondelete": rel.ondelete if as_column2 else "cascade"}
        o = first.origin
        where = {"model": o.model or first.model, "module": o.module, "path": o.path, "modules": first.modules}
        tables[table] = {
            "model": None,
            "module": o.module,
            "relation": {"model": first.model, "field": first.field, "comodel": first.comodel},
            "inverse": [{"model": r.model, "field": r.field, "comodel": r.comodel} for r in rels[1:]],
            "comment": first.comment,
            "primary_key": {"name": pg_object_name(table, None, "pkey"), "columns": [first.column1, first.column2]},
            "source": o.path,
            "extended_in": [],
            "columns": [{"name": column, "type": "int4", "nullable": False, "primary_key": True,
                         "field_type": "Many2many", "references": refs[column], "origin": where}
                        for column in (first.column1, first.column2)],
            "indexes": [{"name": pg_index_name(table, [first.column2, first.column1]), "method": "btree",
                         "expressions": [f'"{first.column2}"', f'"{first.column1}"'], "where": "",
                         "name_chosen_by": "postgresql"}],
            "constraints": [],
            "fields_without_column": {},
        }
    return tables


# --------------------------------------------------------------------------- the document


def generate(root: Path, version: int, commit: str | None = None, repository: str | None = None,
             pinned: bool = True) -> dict[str, Any]:
    if version not in VERSIONS:
        raise GenerationError(f"Odoo {version}: use one of {VERSIONS}")
    src = Source(root, version, commit, repository, pinned)
    evidence = release_version(src)
    check_rules(src)
    modules = module_order(src)
    reg = Registry(src, collect(src, modules))
    tables = {}
    for model in MODELS[version]:
        spec = table_of(reg, model)
        tables[reg.resolve(model).table] = spec
    relations = relation_tables(reg, MODELS[version], modules)
    for name, spec in relations.items():
        if name in tables:
            raise GenerationError(f"relation table {name} of {spec['relation']['model']}.{spec['relation']['field']} "
                                  "is also a model's table")
    tables.update(relations)
    # record every class file that contributed to these tables (directly or through mixins)
    for path in sorted({p for p, _ in reg.used}):
        models = sorted({m for p, m in reg.used if p == path})
        src.read(path, "model definitions: " + ", ".join(models))
    sources = [{"repository": f"GitHub {src.repository}", "commit": src.commit, "path": s["path"],
                "blob": s["blob"], "read_for": s["read_for"]}
               for s in sorted(src.read_files.values(), key=lambda s: s["path"])]
    return {
        "generated_by": f"python -m connectors.odoo.gen_schema --version {version} SOURCE (connectors/odoo/gen_schema.py)",
        "odoo": f"{version}.0",
        "repository": f"GitHub {src.repository}",
        "commit": src.commit,
        "version_evidence": {"path": RULE_FILES["release"], "commit": src.commit,
                             "blob": src.read_files[RULE_FILES["release"]]["blob"], "version_info": evidence},
        "modules": modules,
        "note": f"Facts about Odoo {version}.0 Community's PostgreSQL tables, generated from the sources below; "
                "do not edit by hand.",
        "sources": sources,
        "tables": dict(sorted(tables.items())),
    }


def dumps(doc: dict[str, Any]) -> str:
    """Stable JSON, one column / index / source per line (readable diffs)."""
    def line(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    out = ["{"]
    for key in [k for k in doc if k not in ("sources", "tables")]:
        out.append(f"  {line(key)}: {line(doc[key])},")
    out.append('  "sources": [')
    out.append(",\n".join(f"    {line(s)}" for s in doc["sources"]))
    out.append("  ],")
    out.append('  "tables": {')
    blocks = []
    for name, spec in doc["tables"].items():
        lines = [f"    {line(name)}: {{"]
        listed = ("columns", "indexes", "constraints")
        for key, value in spec.items():
            if key not in listed:
                lines.append(f"      {line(key)}: {line(value)},")
        for i, key in enumerate(listed):
            lines.append(f'      "{key}": [')
            if spec[key]:
                lines.append(",\n".join(f"        {line(c)}" for c in spec[key]))
            lines.append("      ]" + ("," if i < len(listed) - 1 else ""))
        lines.append("    }")
        blocks.append("\n".join(lines))
    out.append(",\n".join(blocks))
    out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def sources_md(docs: list[dict[str, Any]]) -> str:
    lines = [
        "# Sources of the Odoo schemas",
        "",
        "`schema_v17.json` and `schema_v18.json` are generated by `gen_schema.py` from Odoo Community's own",
        "field definitions (modules: `sale` and its dependencies). Each file below was read at the commit",
        "named for its version and is pinned by its git blob id (`PINNED` in `gen_schema.py`); the generator",
        "refuses any other blob, and refuses a tree whose `odoo/release.py` is not the version's.",
        "",
        "Public copies of Odoo mix branches and patch files, so the commits are chosen and checked:",
        "the whole tree was imported in that commit (no later commit of the copy is read), and",
        "`odoo/release.py` at that commit gives the version.",
        "",
        "Regenerate (never in CI: it needs the sources, which are not part of this project):",
        "",
        "```",
    ]
    for doc in docs:
        v = doc["odoo"].split(".")[0]
        lines.append(f"# SOURCE: a git copy of GitHub {doc['repository'].removeprefix('GitHub ')}, or a folder of the "
                     "pinned files at their paths")
        lines.append(f"python -m connectors.odoo.gen_schema --version {v} SOURCE --commit {doc['commit']}")
    lines += [
        "```",
        "",
        "Nothing of these sources is copied into the project and nothing is imported: the model files are",
        "parsed with `ast`; the generated files hold table, column, index and constraint names, PostgreSQL",
        "types, nullability and foreign keys (facts), and the lists below. See the docstring of",
        "`gen_schema.py` for the rules.",
        "",
    ]
    for doc in docs:
        ev = doc["version_evidence"]
        lines += [
            f"## Odoo {doc['odoo']}",
            "",
            f"- repository: {doc['repository']}",
            f"- commit: `{doc['commit']}`",
            f"- version evidence: `{ev['path']}` (blob `{ev['blob']}`) at that commit: "
            f"`version_info = {ev['version_info']}`",
            f"- modules (dependency closure of `sale`, loading order): {', '.join(doc['modules'])}",
            "",
            "| path | blob | read for |",
            "|---|---|---|",
        ]
        for s in doc["sources"]:
            lines.append(f"| `{s['path']}` | `{s['blob']}` | {s['read_for']} |")
        lines += ["", "Tables (columns / indexes / constraints):", ""]
        for name, spec in doc["tables"].items():
            if spec["model"] is None:
                rel = spec["relation"]
                what = " = ".join([f"{rel['model']}.{rel['field']}",
                                   *(f"{i['model']}.{i['field']}" for i in spec["inverse"])])
                lines.append(f"- `{name}` (Many2many {what}): {len(spec['columns'])} / {len(spec['indexes'])} / "
                             f"{len(spec['constraints'])}, field defined in `{spec['source']}`")
                continue
            lines.append(f"- `{name}` ({spec['model']}): {len(spec['columns'])} / {len(spec['indexes'])} / "
                         f"{len(spec['constraints'])}, defined in `{spec['source']}`")
        lines.append("")
    lines += [
        "Not reflected: indexes created by raw SQL in a model's `init()`, auto-install modules, the",
        "many2many relation tables of fields whose comodel is not generated, and columns a database keeps",
        "from older versions (an upgraded database may still have them).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.odoo.gen_schema",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a git repository of Odoo, or a folder of the pinned files")
    parser.add_argument("--version", type=int, required=True, choices=VERSIONS)
    parser.add_argument("--commit", help="commit to read (git), or that the folder's files are copies of")
    parser.add_argument("--repository", help="owner/name on GitHub (default: the pinned one)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--sources-md", type=Path, default=HERE / "SOURCES.md",
                        help="rewritten from both versions' outputs once both exist")
    parser.add_argument("--unpinned", action="store_true",
                        help="do not check blob ids; print the pins of the files read (review before use)")
    args = parser.parse_args(argv)
    output = args.output or HERE / f"schema_v{args.version}.json"
    try:
        doc = generate(args.source, args.version, args.commit, args.repository, pinned=not args.unpinned)
    except GenerationError as exc:
        print(f"gen_schema: {exc}", file=sys.stderr)
        return 1
    if args.unpinned:
        pins = {s["path"]: s["blob"] for s in doc["sources"]}
        print(json.dumps({"repository": doc["repository"].removeprefix("GitHub "), "commit": doc["commit"],
                          "files": pins}, indent=1))
    output.write_text(dumps(doc), encoding="utf-8")
    others = [HERE / f"schema_v{v}.json" for v in VERSIONS if v != args.version]
    if all(p.exists() for p in others):
        docs = sorted([doc, *(json.loads(p.read_text(encoding="utf-8")) for p in others)], key=lambda d: d["odoo"])
        args.sources_md.write_text(sources_md(docs), encoding="utf-8")
    n = sum(len(t["columns"]) for t in doc["tables"].values())
    print(f"{output}: {len(doc['tables'])} tables, {n} columns from {doc['repository']}@{doc['commit'][:12]} "
          f"({doc['version_evidence']['version_info']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
