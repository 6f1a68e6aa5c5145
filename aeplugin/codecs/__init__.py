from .bottomup_grouping import BottomUpGrouping

__all__ = ['BottomUpGrouping']
