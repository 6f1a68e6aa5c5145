from .bottomup_grouping import BottomupGrouping
from .higher_bottomup_grouping import HigherBottomupGrouping

__all__ = ['BottomupGrouping', 'HigherBottomupGrouping']
