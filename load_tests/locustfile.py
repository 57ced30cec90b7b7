"""A morning rush on the Haihe carbon-inclusion platform (see load_tests/README.md): `make load` runs it."""

from load_tests.scenarios.admin import Admin
from load_tests.scenarios.enterprise import Enterprise
from load_tests.scenarios.partner import Partner
from load_tests.scenarios.resident import Resident

__all__ = ["Admin", "Enterprise", "Partner", "Resident"]
