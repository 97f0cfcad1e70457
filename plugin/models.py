"""Every area's models, imported once so that ``Base.metadata`` knows every table (Alembic, tests).

Only metadata readers import this module; code imports a model from its own area
(``plugin.orders.models``...). Every table carries ``shop_id``: tenant isolation today, shard
key tomorrow.
"""

from plugin.audit import models as audit  # noqa: F401
from plugin.commissions import models as commissions  # noqa: F401
from plugin.db import Base
from plugin.inbox import models as inbox  # noqa: F401
from plugin.ledger import models as ledger  # noqa: F401
from plugin.members import models as members  # noqa: F401
from plugin.notices import models as notices  # noqa: F401
from plugin.orders import models as orders  # noqa: F401
from plugin.platforms import models as platforms  # noqa: F401
from plugin.reports import models as reports  # noqa: F401
from plugin.shops import models as shops  # noqa: F401
from plugin.users import models as users  # noqa: F401
from plugin.withdrawals import models as withdrawals  # noqa: F401

metadata = Base.metadata
