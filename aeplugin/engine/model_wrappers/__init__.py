from .channels_last_distributed_data_parallel import (
    ChannelsLastDistributedDataParallel,
)

__all__ = ['ChannelsLastDistributedDataParallel']
