from .bottomup_grouping import BottomupGrouping

__all__ = ['BottomupGrouping']
